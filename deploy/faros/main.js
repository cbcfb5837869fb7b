#!/usr/bin/env node
// The Faros destination's package has no bin: this is its entrypoint
// (AIRBYTE_ENTRYPOINT="node /airbyte/integration_code/main.js").
require('airbyte-faros-destination').mainCommand().parseAsync(process.argv);
