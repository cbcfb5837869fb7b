/*
 * ck_uuid.h - random (version 4) UUIDs for the `_airbyte_ab_id` column the
 * destinations write, drawn from a pool refilled with getrandom(2).
 */
#ifndef CK_UUID_H
#define CK_UUID_H

/* Write "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and a NUL into out. */
void ck_uuid4(char out[37]);

#endif
