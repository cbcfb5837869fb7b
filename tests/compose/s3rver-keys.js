// Preloaded into s3rver (NODE_OPTIONS="--require .../s3rver-keys.js", which
// tests/scenarios/s3rver.sh passes through): adds the key pairs listed in
// S3RVER_EXTRA_KEYS ("ID:SECRET,ID:SECRET"; default minio:miniostorage, the
// seed's MinIO keys) to s3rver's only account, next to S3RVER/S3RVER.
// s3rver 3 has no option for this (--configure-bucket configures CORS and
// websites only); it looks the access key id up in AWSAccount.registry.
'use strict';
const fs = require('fs');
const path = require('path');

const main = process.argv[1] && fs.realpathSync(process.argv[1]);
// only in s3rver itself (node_modules/s3rver/bin/s3rver.js), not in other node programs
if (main && path.basename(main) === 's3rver.js') {
  const account = require(path.join(path.dirname(main), '..', 'lib', 'models', 'account.js'));
  for (const pair of (process.env.S3RVER_EXTRA_KEYS || 'minio:miniostorage').split(',')) {
    const i = pair.indexOf(':');
    if (i > 0) account.DUMMY_ACCOUNT.createKeyPair(pair.slice(0, i), pair.slice(i + 1));
  }
}
