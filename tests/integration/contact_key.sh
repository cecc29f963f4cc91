#!/usr/bin/env bash
# contact_key.sh - a tip's contact is encrypted at rest (issue 8, item 18):
#   1. intake run `insecure: true` without a contact key stores contacts in
#      plain text and says so (the only mode that may);
#   2. started with a key, it seals that older plain row; a new tip's row
#      holds neither the phone number nor the name, in any form, and
#      contact-open (the decrypt helper) gets both back with the key, and
#      nothing with a wrong key; a box moved to another row does not open;
#   3. rotation: a new current key first, the old one kept: every row is
#      re-sealed with the new key at start, which alone opens them;
#   4. refusals, each naming the setting: a key file without the key rows
#      were sealed with, a key file others can read, CURVE on without a
#      contact key.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
OPEN=$AG_BIN/contact-open
ag_db_create ag_contact intake
P=$((AG_PORT + 20))
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
K=$AG_WORK/keys
mkdir -p "$K"
chmod 700 "$K"

randkey() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# newkey FILE ID...: a key file with a key for each id, the first one
# current; the same id always gets the same key ($K/key.ID).
newkey() {
    local file=$1 id
    shift
    (umask 077 && : >"$file")
    for id in "$@"; do
        [ -f "$K/key.$id" ] || (umask 077 && randkey >"$K/key.$id")
        echo "$id $(cat "$K/key.$id")" >>"$file"
    done
}

# config FILE SECURITY_LINES: intake on this test's ports.
config() { ag_intake_config "$1" "$P" "$2"; }

tip() { # ID PHONE NAME: submits a tip, prints ok
    "$A" catalogue --examples | grep '"tip.received"' |
        jq -c --arg id "$1" --arg phone "$2" --arg name "$3" \
            '. + {id: $id, source: "hotline"} | .body.contact_phone = $phone | .body.contact_name = $name' |
        "$A" submit - --endpoint "$SUB" --timeout-ms 5000 | jq -r .ok
}

rows() { # the sealed rows, as contact-open reads them
    ag_sql "SELECT msg_id, key_id, encode(nonce, 'hex'), encode(sealed, 'hex')
            FROM intake.confidential WHERE sealed IS NOT NULL ORDER BY msg_id" | tr '|' ' '
}

opened() { # KEYFILE: the phones contact-open gets back, in row order
    rows | "$OPEN" --keys "$1" 2>/dev/null | jq -r .fields.contact_phone | tr '\n' ' '
}

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

start() { # CONFIG: starts intake and waits for health
    ag_start intake "$AG_BIN/airguard-intake" --config "$1"
    ag_wait_health "$CTL"
}

PLAIN_ID=3f1e2d3c-4b5a-4c6d-8e7f-000000000001
SEALED_ID=3f1e2d3c-4b5a-4c6d-8e7f-000000000002

# ---- 1. plain text: only insecure, only without a key
config "$AG_WORK/plain.yaml" "    insecure: true"
ag_check "insecure without a contact key: starts" start "$AG_WORK/plain.yaml"
ag_check "... and warns that contacts are stored in plain text" grep -q "PLAIN TEXT" "$AG_WORK/intake.log"
ag_eq "tip accepted" "$(tip $PLAIN_ID '13700000001' '赵女士')" true
ag_eq "its contact is in plain text" \
    "$(ag_sql "SELECT sealed IS NULL AND position('\\x$(hex 13700000001)'::bytea IN fields) > 0
               FROM intake.confidential WHERE msg_id = '$PLAIN_ID'")" t
ag_check "intake stops" ag_stop intake

# ---- 2. sealed
newkey "$K/one" 1
config "$AG_WORK/sealed.yaml" "    insecure: true
    contact_key_file: $K/one"
ag_check "with a contact key: starts" start "$AG_WORK/sealed.yaml"
ag_eq "the older plain row is sealed at start" \
    "$(ag_sql "SELECT fields IS NULL, key_id, length(nonce) FROM intake.confidential WHERE msg_id = '$PLAIN_ID'")" "t|1|24"
ag_eq "a new tip is accepted" "$(tip $SEALED_ID '13912345678' '王先生')" true
ag_eq "its row is sealed with key 1" \
    "$(ag_sql "SELECT fields IS NULL, key_id FROM intake.confidential WHERE msg_id = '$SEALED_ID'")" "t|1"
row=$(ag_sql "SELECT c::text FROM intake.confidential c WHERE msg_id = '$SEALED_ID'")
leaks=0
for needle in 13912345678 "$(hex 13912345678)" 王先生 "$(hex 王先生)" contact_phone "$(hex contact_phone)"; do
    grep -qi -- "$needle" <<<"$row" && { ag_log "found $needle in the row"; leaks=1; }
done
ag_eq "neither the phone nor the name is anywhere in the row (as text or hex)" "$leaks" 0
ag_eq "contact-open with the key gets both contacts back" "$(opened "$K/one")" "13700000001 13912345678 "
ag_eq "... and the name" \
    "$(rows | "$OPEN" --keys "$K/one" | jq -r "select(.id == \"$SEALED_ID\") | .fields.contact_name")" 王先生
(umask 077 && echo "1 $(randkey)" >"$K/wrong")
rows | "$OPEN" --keys "$K/wrong" >"$AG_WORK/wrong.out" 2>"$AG_WORK/wrong.err"
ag_eq "with a wrong key: exit 1, nothing opened" "$?/$(wc -c <"$AG_WORK/wrong.out")" "1/0"
ag_check "... and it says why" grep -q "does not open with key 1" "$AG_WORK/wrong.err"
rows | awk -v id=$PLAIN_ID -v other=$SEALED_ID '$1 == other { $1 = id; print }' |
    "$OPEN" --keys "$K/one" >"$AG_WORK/moved.out" 2>"$AG_WORK/moved.err"
ag_eq "a box moved to another row does not open there" \
    "$?/$(wc -c <"$AG_WORK/moved.out")/$(grep -c 'another record' "$AG_WORK/moved.err")" "1/0/1"
ag_check "intake stops" ag_stop intake

# ---- 3. rotation
newkey "$K/rotated" 2 1
config "$AG_WORK/rotated.yaml" "    insecure: true
    contact_key_file: $K/rotated"
ag_check "with a new current key and the old one: starts" start "$AG_WORK/rotated.yaml"
ag_eq "every row is re-sealed with key 2" \
    "$(ag_sql "SELECT string_agg(DISTINCT key_id::text, ','), count(*) FROM intake.confidential")" "2|2"
ag_check "the re-sealing is logged" grep -q "contacts sealed with the current key" "$AG_WORK/intake.log"
newkey "$K/two" 2
ag_eq "key 2 alone opens them" "$(opened "$K/two")" "13700000001 13912345678 "
rows | "$OPEN" --keys "$K/one" >"$AG_WORK/old.out" 2>/dev/null
ag_eq "key 1 alone opens none" "$?/$(wc -c <"$AG_WORK/old.out")" "1/0"
ag_check "intake stops" ag_stop intake

# ---- 4. refusals
refuses() { # NAME CONFIG EXPECTED-TEXT: the service must not start
    ag_check "$1" bash -c "! timeout 60 '$AG_BIN/airguard-intake' --config '$2' 2>'$2.log' >&2 && grep -q '$3' '$2.log'"
}
newkey "$K/three" 3
config "$AG_WORK/lost.yaml" "    insecure: true
    contact_key_file: $K/three"
refuses "the key rows are sealed with is missing: refuses to start, naming it" "$AG_WORK/lost.yaml" \
    "sealed with contact key 2"
ag_eq "... and changes nothing" "$(ag_sql "SELECT string_agg(DISTINCT key_id::text, ',') FROM intake.confidential")" 2
chmod 640 "$K/two"
config "$AG_WORK/readable.yaml" "    insecure: true
    contact_key_file: $K/two"
refuses "a key file others can read: refuses to start" "$AG_WORK/readable.yaml" "chmod 600"
"$A" keygen --out "$K/server" >/dev/null
printf 'clients: []\n' >"$AG_WORK/clients.yaml"
config "$AG_WORK/nokey.yaml" "    secret_key_file: $K/server.key
    allow_list: $AG_WORK/clients.yaml"
refuses "CURVE on without a contact key: refuses to start, naming the setting" "$AG_WORK/nokey.yaml" \
    "no contact_key_file (or AIRGUARD_INTAKE_CONTACT_KEY_FILE"
ag_db_drop

ag_summary
