/*
 * replication.h - a replication described in one file (YAML or JSON):
 *
 *   name: my-sync
 *   source:
 *     entrypoint: python3 /connectors/source/main.py   # or image: for containers
 *     config: {...}                                    # or config_file: path
 *   destination:
 *     entrypoint: build/bin/destination-csv
 *     config: {...}
 *   catalog: {...}                # ConfiguredAirbyteCatalog, or catalog_file: path
 *   schedule: "*\/15 * * * *"     # optional, for `schedule`
 *
 * Relative *_file paths are relative to the replication file.  The
 * connectors still get ordinary files: materialise() writes the three JSON
 * documents (mode 0600: configs hold secrets) into a directory.
 */
#ifndef AB_REPLICATION_H
#define AB_REPLICATION_H

#include <jansson.h>

#include "protocol/catalog.h" /* struct ab_error */

struct replication_file {
	char *name;
	char *source_entrypoint, *source_image;
	char *destination_entrypoint, *destination_image;
	json_t *source_config, *destination_config, *catalog;
	char *schedule;
};

/* Load and check path.  -EINVAL with err saying what and where. */
int replication_file_load(const char *path, struct replication_file *rf, struct ab_error *err);
void replication_file_release(struct replication_file *rf);

/* Write source-file.json, destination-file.json, catalog-file.json into dir. */
int replication_file_materialise(const struct replication_file *rf, const char *dir);

#endif
