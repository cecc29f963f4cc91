/* intake.h - names the whole intake service shares. Each of its domain
 * modules has its own header (no sockets in them, so the unit tests link
 * them from libsvc_intake.a):
 *
 *   settings.h      the `intake:` section of config/intake.yaml
 *   allowlist.h     who may submit: client public keys, their source name,
 *                   the event types and subdistricts each may send
 *   digest.h        HMAC-SHA-256, for the digest of confidential fields
 *   confidential.h  fields kept out of the log (a tipster's contact): taken
 *                   out by the validator, stored by ingest's store hook
 *   validator.h     the check every submit passes before it is stored
 *
 * CURVE key files are common/curvekey.c. main.c wires the modules to the
 * sockets. */
#ifndef AIRGUARD_INTAKE_H
#define AIRGUARD_INTAKE_H

#include "db.h"

/* The service's migrations, services/intake/sql/NNN_*.sql, embedded. */
DB_DECLARE_MIGRATIONS(intake);

/* The ZAP domain of the submit socket: only intake's allow-list decides
 * who may connect to it. */
#define INTAKE_ZAP_DOMAIN "intake"

#endif
