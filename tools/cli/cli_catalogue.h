/* cli_catalogue.h - `airguard catalogue`: the event catalogue as JSON
 * lines (for scripts and pipes), as a table (for people at a terminal), as
 * one complete example event per type (ready for `airguard submit`) or as
 * docs/protocol.md's type tables. */
#ifndef AIRGUARD_CLI_CATALOGUE_H
#define AIRGUARD_CLI_CATALOGUE_H

#include <stdio.h>

typedef enum cli_catalogue_form {
    CLI_CATALOGUE_JSON,
    CLI_CATALOGUE_TABLE,
    CLI_CATALOGUE_EXAMPLES,
    CLI_CATALOGUE_MARKDOWN
} cli_catalogue_form_t;

/* Prints every type, or only type when given, to out. Returns 0, or 1 (with
 * a message) when there is no such type. */
int cli_catalogue_print(FILE *out, const char *type, cli_catalogue_form_t form);

#endif
