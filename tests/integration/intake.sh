#!/usr/bin/env bash
# intake.sh - the intake service end to end, against a real PostgreSQL:
#   0. docs/protocol.md's type tables are what `airguard catalogue
#      --markdown` prints (the document describes the code);
#   1. every catalogue type's example is accepted; a matrix generated from
#      the catalogue (each required field missing, each field of the wrong
#      type, out of range, unknown reference, a client-sent digest) is
#      refused with the right code and field, and nothing of it is stored;
#      confidential fields stay out of the log, a digest stands in for them;
#   2. idempotent resubmit: same id same reply, same id other body refused;
#      a tip retried with another contact or without one is E_ID_CONFLICT,
#      and a refused tip stores no contact; a failing contact store rolls
#      the event back with it (E_INTERNAL, nothing stored);
#   3. malformed msgpack, a message just over 64 KiB, a 10 MB message,
#      multipart of the wrong shape: an error reply (the 10 MB one drops the
#      connection), and the service keeps serving; E_TOO_LARGE up to
#      exactly 66,560 bytes, no reply above;
#   4. PostgreSQL stopped: E_UNAVAILABLE, no ack, no orphan contact row; the
#      CLI keeps retrying the same id within its budget and is acked once
#      the database is back; stored once;
#   5. 100 concurrent clients: every ack in the log exactly once, gap-free
#      and in order on the events stream (replay);
#   6. two subdistricts side by side; unknown keys echoed by the one rule
#      (whole up to 63 bytes, else cut at a character and ended "...");
#      a YAML alias bomb given to `airguard submit` is refused at once;
#   7. CURVE: an allowed client is accepted, a type it may not send is
#      E_FORBIDDEN, an unknown key gets no connection; no key and no
#      "insecure: true" refuses to start, and so do insecure on a public
#      endpoint and insecure with an allow-list; the size bound is the same
#      as without CURVE; a database password file over 255 bytes refuses
#      to start; keygen's files are as documented; secrets are cleared with
#      explicit_bzero.
# Needs jq and python3 (raw ZMTP frames for case 3; libzmq through ctypes,
# tests/lib/zmq_send.py, for exact frame sizes over CURVE).
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
for tool in jq python3; do
    command -v $tool >/dev/null || { ag_log "$tool is required"; exit 1; }
done

# submit ENDPOINT [airguard options]: events on stdin, replies on stdout.
submit() {
    local endpoint=$1
    shift
    "$A" submit - --endpoint "$endpoint" --timeout-ms 5000 "$@"
}

count_log() { ag_sql "SELECT count(*) FROM intake.stream_log"; }

# ---- 0. the document's type tables
awk '/^<!-- catalogue:begin/{p=1; next} /^<!-- catalogue:end/{p=0} p' "$AG_ROOT/docs/protocol.md" >"$AG_WORK/doc-types.md"
"$A" catalogue --markdown >"$AG_WORK/code-types.md"
ag_check "protocol.md type tables match the catalogue" diff "$AG_WORK/doc-types.md" "$AG_WORK/code-types.md"

# ---- 1..6: one service without authentication (a separate, test-only config)
ag_db_create ag_intake intake
P=$AG_PORT
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
ag_intake_config "$AG_WORK/intake.yaml" "$P" "    insecure: true"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts (insecure test config)" ag_wait_health "$CTL"
ag_check "intake logs the insecure warning" grep -q INSECURE "$AG_WORK/intake.log"

# 0b. an operator checks a campaign file before restarting intake
ag_eq "check-campaign accepts the Baiyang seed" \
    "$("$A" check-campaign "$AG_ROOT/seeds/baiyang-2019.yaml" | jq -r .subdistrict)" baiyang
sed 's/^subdistrict:/subdistrict:\n  bogus: 1/' "$AG_ROOT/seeds/demo-shanhe.yaml" >"$AG_WORK/broken.yaml"
check_broken() { # fails, and names the file, the line and the key
    local out
    out=$("$A" check-campaign "$AG_WORK/broken.yaml" 2>&1) && return 1
    grep -q "broken.yaml:11: unknown key 'bogus'" <<<"$out"
}
ag_check "check-campaign names file and line of a mistake" check_broken

# 1. examples
"$A" catalogue --examples >"$AG_WORK/examples.jsonl"
ntypes=$(wc -l <"$AG_WORK/examples.jsonl")
submit "$SUB" --clients 1 <"$AG_WORK/examples.jsonl" >"$AG_WORK/examples.replies"
ag_eq "every example accepted" "$(jq -r 'select(.ok) | .id' "$AG_WORK/examples.replies" | wc -l)" "$ntypes"
ag_eq "one stored event per type" \
    "$(ag_sql "SELECT count(*) || '/' || count(DISTINCT type) FROM intake.stream_log")" "$ntypes/$ntypes"

# The same event written as YAML by an operator is accepted too.
yaml_reply=$(submit "$SUB" --clients 1 <<YAML
# a patrol's report, by hand
type: report.open_burning
subdistrict: baiyang
body: $(jq -c 'select(.type == "report.open_burning") | .body' "$AG_WORK/examples.jsonl")
YAML
)
ag_eq "an event written in YAML is accepted" "$(jq -r .ok <<<"$yaml_reply")" true

# Confidential fields: in intake.confidential, not in the log or the stream.
tip_id=$(paste "$AG_WORK/examples.jsonl" "$AG_WORK/examples.replies" |
    grep '"tip.received"' | sed 's/.*"id":"\([^"]*\)".*/\1/')
ag_eq "tip contact kept apart" "$(ag_sql "SELECT count(*) FROM intake.confidential WHERE msg_id = '$tip_id'")" 1
ag_eq "tip contact not in the log" \
    "$(ag_sql "SELECT position(convert_to('138 0000', 'UTF8') IN body) FROM intake.stream_log WHERE msg_id = '$tip_id'")" 0
ag_eq "tip carries the contact's digest instead" \
    "$(ag_sql "SELECT position(convert_to('contact_digest', 'UTF8') IN body) > 0 FROM intake.stream_log WHERE msg_id = '$tip_id'")" t

# A refused event's reply names its id, so pipelining clients can match it.
refused=$(jq -c 'select(.type == "task.acknowledged") | .id = "0b9e8a52-9d1c-4d8e-a0c5-6f1e2d3c4b5a" | del(.body.by)' \
    "$AG_WORK/examples.jsonl" | submit "$SUB" --clients 1)
ag_eq "a refusal names the message's id" "$(jq -r '.code + " " + .id' <<<"$refused")" \
    "E_MISSING 0b9e8a52-9d1c-4d8e-a0c5-6f1e2d3c4b5a"

# The invalid matrix, generated from the catalogue: "CODE<TAB>FIELD<TAB>EVENT".
stored_before_matrix=$(count_log)
"$A" catalogue | jq -r '
  . as $t | $t.example as $ex |
  def ev(b): {type: $t.type, subdistrict: "baiyang", body: b} | tojson;
  def set(f; v): ev($ex + {(f): v});
  $t.fields[] | . as $f |
  if $f.digest then "E_UNKNOWN_KEY\t\($f.name)\t" + set($f.name; "0" * 64) else
  (if $f.required then "E_MISSING\t\($f.name)\t\(ev($ex | del(.[$f.name])))" else empty end),
  ("E_TYPE\t\($f.name)\t" + set($f.name;
      if ($f.kind | IN("int", "number", "str[]")) then "x" elif $f.kind == "bool" then 1 else 7 end)),
  (if ($f.kind | IN("int", "number")) then "E_RANGE\t\($f.name)\t" + set($f.name; $f.max + 1)
   elif ($f.kind | IN("str", "text", "code")) then "E_RANGE\t\($f.name)\t" + set($f.name; "a" * ($f.max + 1))
   elif $f.kind == "phone" then "E_RANGE\t\($f.name)\t" + set($f.name; "1" * ($f.max + 1))
   elif $f.kind == "enum" then "E_RANGE\t\($f.name)\t" + set($f.name; "no_such_value")
   elif $f.kind == "uuid" then "E_RANGE\t\($f.name)\t" + set($f.name; "not-a-uuid")
   elif $f.kind == "date" then "E_RANGE\t\($f.name)\t" + set($f.name; "2020-02-30")
   elif $f.kind == "str[]" then "E_RANGE\t\($f.name)\t" + set($f.name; [])
   elif $f.kind == "ref" then "E_UNKNOWN_REF\t\($f.name)\t" + set($f.name; "no-such-id")
   else empty end) end' >"$AG_WORK/matrix.tsv"
cut -f3 "$AG_WORK/matrix.tsv" | submit "$SUB" --clients 1 >"$AG_WORK/matrix.replies"
cut -f1,2 "$AG_WORK/matrix.tsv" >"$AG_WORK/matrix.want"
jq -r '"\(.code)\t\(.field)"' "$AG_WORK/matrix.replies" >"$AG_WORK/matrix.got"
ag_log "invalid matrix: $(wc -l <"$AG_WORK/matrix.want") cases"
ag_check "invalid matrix: every case refused with its code and field" \
    diff "$AG_WORK/matrix.want" "$AG_WORK/matrix.got"
ag_eq "invalid matrix: nothing stored" "$(count_log)" "$stored_before_matrix"
ag_eq "invalid matrix: no confidential row stored" "$(ag_sql "SELECT count(*) FROM intake.confidential")" 1

# 2. idempotent resubmit
ID=3f0e8d1c-2b4a-4c6e-8f1a-0b2c3d4e5f60
ev() { printf '{"id":"%s","time":1575000000000,"type":"task.acknowledged","subdistrict":"baiyang","body":{"task":"5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f","by":"%s"}}' "$ID" "$1"; }
first=$(ev sq1 | submit "$SUB")
again=$(ev sq1 | submit "$SUB")
other=$(ev sq2 | submit "$SUB")
ag_eq "resubmit: same seq" "$(jq -r .seq <<<"$again")" "$(jq -r .seq <<<"$first")"
ag_eq "resubmit: flagged duplicate" "$(jq -r '"\(.duplicate)/\(.ok)"' <<<"$first$again" | tr '\n' ' ')" "false/true true/true "
ag_eq "same id, other body: E_ID_CONFLICT" "$(jq -r '"\(.code) \(.field)"' <<<"$other")" "E_ID_CONFLICT id"
ag_eq "same id, other body: stored once, not overwritten" \
    "$(ag_sql "SELECT count(*) FROM intake.stream_log WHERE msg_id = '$ID' AND position(convert_to('sq1','UTF8') IN body) > 0")" 1
# A tip's contact is part of what a retry must repeat (its digest is in the
# stored body), and it is stored with the event, in its transaction.
# Retries must repeat the time too: the CLI fills in the current time when
# an event has none, so these events carry their own.
TIPA=8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b
tip_ev=$(grep '"tip.received"' "$AG_WORK/examples.jsonl" | jq -c --arg id "$TIPA" '. + {id: $id, time: 1575000000000} | del(.body.wants_reward)')
contact() { ag_sql "SELECT count(*) || ':' || coalesce(string_agg(encode(fields, 'hex'), ''), '') FROM intake.confidential WHERE msg_id = '$1'"; }
tip_seq=$(submit "$SUB" <<<"$tip_ev" | jq -r .seq)
contact_before=$(contact "$TIPA")
ag_eq "tip: one contact row" "${contact_before%%:*}" 1
ag_eq "same tip, same contact: original ack" "$(submit "$SUB" <<<"$tip_ev" | jq -r '"\(.duplicate) \(.seq)"')" "true $tip_seq"
ag_eq "same tip id, other contact: E_ID_CONFLICT" \
    "$(submit "$SUB" <<<"$(jq -c '.body.contact_phone = "12345678"' <<<"$tip_ev")" | jq -r '"\(.code) \(.field)"')" "E_ID_CONFLICT id"
ag_eq "same tip id, contact removed: E_ID_CONFLICT" \
    "$(submit "$SUB" <<<"$(jq -c 'del(.body.contact_phone, .body.contact_name)' <<<"$tip_ev")" | jq -r .code)" E_ID_CONFLICT
ag_eq "tip retries: the stored contact is unchanged" "$(contact "$TIPA")" "$contact_before"
TIP0=7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a
tip0_ev=$(jq -c --arg id "$TIP0" '. + {id: $id} | del(.body.contact_phone, .body.contact_name)' <<<"$tip_ev")
ag_eq "tip without a contact: accepted, no contact row" "$(submit "$SUB" <<<"$tip0_ev" | jq -r .ok) $(contact "$TIP0")" "true 0:"
ag_eq "same tip id, contact added: E_ID_CONFLICT, still no contact row" \
    "$(submit "$SUB" <<<"$(jq -c '.body.contact_name = "李女士"' <<<"$tip0_ev")" | jq -r .code) $(contact "$TIP0")" "E_ID_CONFLICT 0:"
ag_eq "a tip under another event's id: E_ID_CONFLICT, no contact row" \
    "$(jq -c --arg id "$ID" '. + {id: $id}' <<<"$tip_ev" | submit "$SUB" | jq -r .code) $(contact "$ID")" "E_ID_CONFLICT 0:"
# A contact store that fails rolls the event back with it.
FAIL_ID=5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e
ag_sql "CREATE FUNCTION public.refuse_contact() RETURNS trigger LANGUAGE plpgsql AS
    \$\$BEGIN IF NEW.msg_id = '$FAIL_ID' THEN RAISE EXCEPTION 'test: contact store fails'; END IF; RETURN NEW; END\$\$;
    CREATE TRIGGER refuse_contact BEFORE INSERT ON intake.confidential FOR EACH ROW EXECUTE FUNCTION public.refuse_contact()" >/dev/null
fail_ev=$(jq -c --arg id "$FAIL_ID" '. + {id: $id}' <<<"$tip_ev")
ag_eq "contact store fails: E_INTERNAL" "$(submit "$SUB" --retries 1 <<<"$fail_ev" | jq -r .code)" E_INTERNAL
# The CLI retries E_INTERNAL with the same id, pausing 0.2, 0.4, 0.8 ... s,
# until its budget is spent: four attempts fit in 2.5 s (three on a very
# slow machine), the fifth would start at 3 s.
internal() { "$A" query '{"op":"stats"}' --endpoint "$CTL" | jq .internal; }
internal_before=$(internal)
ag_eq "CLI: E_INTERNAL reported when the budget is spent" \
    "$(submit "$SUB" --budget-ms 2500 <<<"$fail_ev" | jq -r .code)" E_INTERNAL
attempts=$(($(internal) - internal_before))
ag_check "CLI: E_INTERNAL retried with the same id, paced ($attempts attempts)" \
    test "$attempts" -ge 3 -a "$attempts" -le 4
ag_eq "contact store fails: the event is not stored either" \
    "$(ag_sql "SELECT count(*) FROM intake.stream_log WHERE msg_id = '$FAIL_ID'")/$(contact "$FAIL_ID")" "0/0:"
ag_sql "DROP TRIGGER refuse_contact ON intake.confidential; DROP FUNCTION public.refuse_contact()" >/dev/null
ag_eq "after the fault, the same id is stored once with its contact" \
    "$(submit "$SUB" <<<"$fail_ev" | jq -r '"\(.ok) \(.duplicate)"') $(contact "$FAIL_ID" | cut -d: -f1)" "true false 1"

# 3. raw frames: malformed msgpack, just over 64 KiB, 10 MB, wrong multipart shape.
raw() { # MODE: prints the reply payload as text (or "no reply")
    python3 - "$((P + 2))" "$1" <<'PY'
import socket, struct, sys
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
def frame(body, more=False):
    flags = 1 if more else 0
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body
buf = b""
def take(n):  # exactly n bytes of the server's stream
    global buf
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out
def rest():  # whatever the server sends until it is silent or closes
    global buf
    out, buf = buf, b""
    try:
        while len(out) < 200:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            s.settimeout(0.3)  # the rest of an answer follows at once
    except (socket.timeout, OSError):
        pass
    return out
# libzmq wants the greetings exchanged before the READY command; its own
# READY is read here, so that what follows is only the answer.
s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32)
take(64)
prop = bytes([11]) + b"Socket-Type" + struct.pack(">I", 6) + b"DEALER"
s.sendall(bytes([4, 6 + len(prop)]) + b"\x05READY" + prop)
flags = take(1)[0]
take(struct.unpack(">Q", take(8))[0] if flags & 2 else take(1)[0])
if mode == "malformed":
    s.sendall(frame(b"\x87\xc1\xa2id"))
elif mode == "over":  # above the envelope limit, below the socket's frame limit
    s.sendall(frame(b"\x81\xa1v" + b"\xc4" * (65536 + 500)))
elif mode == "big":
    try:
        s.sendall(frame(b"\x81\xa1v" + b"\xc4" * (10 * 1024 * 1024)))
    except OSError:
        pass  # ZeroMQ may close the connection while we still send
else:
    s.sendall(frame(b"part one", True) + frame(b"part two"))
out = rest()
print(out.replace(b"\x00", b" ").decode("latin-1") if out else "no reply")
PY
}
ag_check "malformed msgpack: E_MALFORMED" grep -q E_MALFORMED <<<"$(raw malformed)"
ag_check "64.5 KiB message: E_TOO_LARGE" grep -q E_TOO_LARGE <<<"$(raw over)"
ag_eq "10 MB message: connection dropped, no reply" "$(raw big)" "no reply"
# The documented bound (protocol.md section 1): E_TOO_LARGE up to 66,560 bytes.
sized() { python3 "$AG_ROOT/tests/lib/zmq_send.py" "$@"; }
ag_check "66,560-byte frame: E_TOO_LARGE" grep -q E_TOO_LARGE <<<"$(sized "$SUB" 66560)"
ag_eq "66,561-byte frame: no reply" "$(sized "$SUB" 66561)" "no reply"
ag_check "wrong multipart shape: E_MALFORMED" grep -q E_MALFORMED <<<"$(raw multipart)"
ag_check "wrong shape is logged" grep -q "submit of the wrong shape" "$AG_WORK/intake.log"
ag_eq "wrong shape is counted" "$("$A" query '{"op":"stats"}' --endpoint "$CTL" | jq .misshapen)" 1
ag_eq "still serving after bad input" "$(head -1 "$AG_WORK/examples.jsonl" | submit "$SUB" | jq -r .ok)" true

# 4. PostgreSQL stopped
if ag_can_crash_pg; then
    ID2=4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
    TIP2=6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f
    down_ev=$(grep '"patrol.check_in"' "$AG_WORK/examples.jsonl" | jq -c --arg id "$ID2" '. + {id: $id, time: 1575000000000}')
    tip2_ev=$(jq -c --arg id "$TIP2" '. + {id: $id}' <<<"$tip_ev")
    "$AG_ROOT/tools/pg.sh" stop "$AG_PG_DIR"
    down=$(submit "$SUB" --retries 1 <<<"$down_ev")
    tip_down=$(submit "$SUB" --retries 1 <<<"$tip2_ev")
    # The CLI's own retry: the same id again and again, pausing 0.2 s
    # doubling to 5 s, until the database is back (within its budget).
    submit "$SUB" --budget-ms 90000 <<<"$down_ev" >"$AG_WORK/retried.json" &
    cli=$!
    sleep 2
    "$AG_ROOT/tools/pg.sh" start "$AG_PG_DIR" >/dev/null
    ag_eq "database down: E_UNAVAILABLE, no ack" "$(jq -r '"\(.ok) \(.code)"' <<<"$down")" "false E_UNAVAILABLE"
    ag_eq "database down, tip: E_UNAVAILABLE" "$(jq -r .code <<<"$tip_down")" E_UNAVAILABLE
    wait $cli
    ag_eq "CLI retries until the database is back: stored now" "$(jq -r '"\(.ok) \(.duplicate)"' "$AG_WORK/retried.json")" "true false"
    ag_check "health recovers after the restart" ag_wait_health "$CTL"
    ag_eq "database down: no orphan contact row" "$(contact "$TIP2")" "0:"
    up=$(submit "$SUB" --retries 10 <<<"$down_ev")
    ag_eq "retry after restart: the original ack" "$(jq -r '"\(.ok) \(.duplicate)"' <<<"$up")" "true true"
    ag_eq "retry after restart: stored once" "$(ag_sql "SELECT count(*) FROM intake.stream_log WHERE msg_id = '$ID2'")" 1
    ag_eq "tip retried after restart: stored with its contact" \
        "$(submit "$SUB" <<<"$tip2_ev" | jq -r .ok) $(contact "$TIP2" | cut -d: -f1)" "true 1"
else
    ag_log "skipping the PostgreSQL restart case (shared server)"
fi

# 5. 100 concurrent clients
before=$(count_log)
body=$(grep '"patrol.route_visit"' "$AG_WORK/examples.jsonl" | jq -c .body)
load=$("$AG_TESTBIN/stream_load" --endpoint "$SUB" --count 3000 --clients 100 --type patrol.route_visit \
    --body-json "$body" --source patrol-app --out "$AG_WORK/acks.tsv" --timeout-ms 10000)
ag_log "100 clients: $load"
ag_eq "100 clients: all acked" "$(grep -c . "$AG_WORK/acks.tsv")/$(grep -c REJECT "$AG_WORK/acks.tsv")" "3000/0"
ag_sql "CREATE TABLE public.acks (id uuid, k text, stream text, seq bigint, dup int)" >/dev/null
ag_sql "COPY public.acks FROM '$AG_WORK/acks.tsv'" >/dev/null 2>&1 ||
    psql -X -q "$(ag_url_for "$AG_DB")&user=postgres" -c "\\copy public.acks FROM '$AG_WORK/acks.tsv'" >/dev/null
ag_eq "100 clients: every ack in the log once, at its seq" \
    "$(ag_sql "SELECT count(*) FROM public.acks a JOIN intake.stream_log l ON l.msg_id = a.id AND l.seq = a.seq")" 3000
ag_eq "log seq gap-free" "$(ag_sql "SELECT count(*) = max(seq) AND min(seq) = 1 FROM intake.stream_log")" t
total=$(count_log)
ag_eq "100 clients: log grew by 3000" "$((total - before))" 3000
replayed=""
from=1
while [ "$from" -le "$total" ]; do
    "$A" query "{\"op\":\"replay\",\"stream\":\"events.intake-1\",\"from\":$from,\"max\":1000}" \
        --endpoint "$CTL" >"$AG_WORK/replay.json" || break
    replayed+=$(jq -r '.records[] | .[0]' "$AG_WORK/replay.json")$'\n'
    from=$(($(jq -r .to "$AG_WORK/replay.json") + 1))
done
ag_eq "events stream replays 1..N in order" "$(grep -c . <<<"$replayed")/$(sort -n <<<"$replayed" | grep . | diff - <(grep . <<<"$replayed") >/dev/null && echo ordered)" "$total/ordered"
stats=$("$A" query '{"op":"stats"}' --endpoint "$CTL")
ag_check "stats op reports counters" jq -e >/dev/null \
    '.ok and .accepted > 3000 and .refused_by_code.E_MISSING > 0 and .internal >= 1 and .rejected > .refused_by_code.E_MISSING and .duplicates >= 1 and .batches > 0' <<<"$stats"

# 6. two subdistricts side by side
shanhe='{"type":"patrol.check_in","subdistrict":"shanhe","body":{"squad":"sq1","grid":"shangcun-g01","group":"patrol-shangcun","headcount":2}}'
ag_eq "shanhe event accepted" "$(submit "$SUB" <<<"$shanhe" | jq -r .ok)" true
ag_eq "baiyang grid refused in shanhe" \
    "$(submit "$SUB" <<<"${shanhe/shangcun-g01/baima-g01}" | jq -r '"\(.code) \(.field)"')" "E_UNKNOWN_REF grid"
ag_eq "shanhe grid refused in baiyang" \
    "$(submit "$SUB" <<<"$(jq -c '.subdistrict = "baiyang" | del(.body.group)' <<<"$shanhe")" | jq -r '"\(.code) \(.field)"')" "E_UNKNOWN_REF grid"
# Unknown keys come back by one rule (protocol.md section 2): whole up to
# 63 bytes, past that cut at a character boundary and ended with "...".
k63=$(printf 'k%.0s' $(seq 63))
ag_eq "63-byte unknown body key: field is the whole key" \
    "$(submit "$SUB" <<<"$(jq -c --arg k "$k63" '.body[$k] = 1' <<<"$shanhe")" | jq -r '"\(.code) \(.field)"')" "E_UNKNOWN_KEY $k63"
han=$(printf '城%.0s' $(seq 20))
ag_eq "long non-ASCII unknown body key: cut between characters, ends with ..." \
    "$(submit "$SUB" <<<"$(jq -c --arg k "$han" '.body[$k] = 1' <<<"$shanhe")" | jq -r .field)" \
    "$(printf '\\xe5\\x9f\\x8e%.0s' 1 2 3 4 5)..."

# A YAML alias bomb (485 bytes, billions of nodes once expanded) is refused
# at once, as the configuration reader refuses aliases.
bomb=$AG_WORK/bomb.yaml
{
    echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    prev=a
    for n in b c d e f g h i; do
        echo "$n: &$n [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
        prev=$n
    done
} >"$bomb"
timeout 20 "$A" submit "$bomb" --endpoint "$SUB" --retries 1 >/dev/null 2>"$AG_WORK/bomb.err"
ag_eq "YAML alias bomb: refused at once (exit 1 or 2, not a hang)" "$(($? == 1 || $? == 2))" 1
ag_check "YAML alias bomb: the error names the alias" grep -q "aliases are not allowed" "$AG_WORK/bomb.err"
ag_check "intake stops cleanly" ag_stop intake
ag_db_drop

# ---- 7. CURVE
ag_db_create ag_intake_curve intake
P=$((AG_PORT + 10))
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
K=$AG_WORK/keys
mkdir -p "$K"
"$A" keygen --out "$K/server" >/dev/null
"$A" keygen --out "$K/patrol" >/dev/null
"$A" keygen --out "$K/stranger" >/dev/null
(umask 077 && echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$K/contact.key")
cat >"$AG_WORK/clients.yaml" <<EOF
clients:
  - source: patrol-app
    keys: ['$(cat "$K/patrol.pub")']
    types: [patrol.*, task.*]
    subdistricts: [baiyang]
EOF
ag_intake_config "$AG_WORK/open.yaml" "$P" "    insecure: false"
ag_check "no secret key, not insecure: refuses to start" \
    bash -c "! '$AG_BIN/airguard-intake' --config '$AG_WORK/open.yaml' 2>'$AG_WORK/open.log' && grep -q 'insecure: true' '$AG_WORK/open.log'"
refuses() { # NAME CONFIG EXPECTED-TEXT: the service must not start
    ag_check "$1" bash -c "! '$AG_BIN/airguard-intake' --config '$2' 2>'$2.log' && grep -q '$3' '$2.log'"
}
ag_intake_config "$AG_WORK/public.yaml" "$P" "    insecure: true"
sed -i "s#submit: tcp://127.0.0.1:#submit: tcp://0.0.0.0:#" "$AG_WORK/public.yaml"
refuses "insecure on a public endpoint: refuses to start" "$AG_WORK/public.yaml" "only allowed on a loopback"
ag_intake_config "$AG_WORK/insecure-list.yaml" "$P" "    insecure: true
    allow_list: $AG_WORK/clients.yaml"
refuses "insecure with an allow-list: refuses to start" "$AG_WORK/insecure-list.yaml" "needs CURVE"
sed 's/source: patrol-app/source: "patrol app"/' "$AG_WORK/clients.yaml" >"$AG_WORK/bad-clients.yaml"
ag_intake_config "$AG_WORK/bad-list.yaml" "$P" "    secret_key_file: $K/server.key
    allow_list: $AG_WORK/bad-clients.yaml
    contact_key_file: $K/contact.key"
refuses "allow-list with an invalid source name: refuses to start" "$AG_WORK/bad-list.yaml" "patrol app"
ag_intake_config "$AG_WORK/curve.yaml" "$P" "    secret_key_file: $K/server.key
    allow_list: $AG_WORK/clients.yaml
    contact_key_file: $K/contact.key"
# A database password file longer than the reader takes is refused, not
# silently cut (the cut password would be tried as the real one).
printf 'p%.0s' $(seq 300) >"$AG_WORK/long.password"
printf 'p%.0s' $(seq 255) >"$AG_WORK/max.password"
ag_check "300-byte AIRGUARD_DB_PASSWORD_FILE: refuses to start, says why" \
    bash -c "! AIRGUARD_DB_PASSWORD_FILE='$AG_WORK/long.password' timeout 20 '$AG_BIN/airguard-intake' --config '$AG_WORK/curve.yaml' 2>'$AG_WORK/pw.log' && grep -q 'password is longer than 255 bytes' '$AG_WORK/pw.log'"
# The key files are what protocol.md section 1.1 says keygen writes.
z85='^[]0-9a-zA-Z.:+=^!/*?&<>()[{}@%$#-]{40}$'
ag_check "keygen's .key: the documented comment line, then the key" \
    bash -c "[ \$(wc -l <'$K/patrol.key') = 2 ] && grep -qxF \"\$(head -1 '$K/patrol.key')\" <(sed -n 's/^    NAME.key (mode 0600):  //p' '$AG_ROOT/docs/protocol.md') && sed -n 2p '$K/patrol.key' | grep -qE '$z85'"
ag_check "keygen's .pub: one line, the key" \
    bash -c "[ \$(wc -l <'$K/patrol.pub') = 1 ] && grep -qE '$z85' '$K/patrol.pub'"
# Secrets (keys, the digest key, the password) are cleared with
# explicit_bzero, which the compiler may not drop as it may a memset.
for bin in "$AG_BIN/airguard-intake" "$A"; do
    ag_check "$(basename "$bin") clears secrets with explicit_bzero" \
        bash -c "nm -D --undefined-only '$bin' | grep -qw explicit_bzero"
done
# (with a password file of exactly 255 bytes, the longest taken: the test
# cluster trusts local connections, so only its length is at stake here)
AIRGUARD_DB_PASSWORD_FILE=$AG_WORK/max.password ag_start curve "$AG_BIN/airguard-intake" --config "$AG_WORK/curve.yaml"
ag_check "intake starts with CURVE" ag_wait_health "$CTL"
curve() { submit "$SUB" --server-key-file "$K/server.pub" --retries 1 --timeout-ms 2000 "$@"; }
visit=$(grep '"patrol.route_visit"' "$AG_WORK/examples.jsonl" | jq -c '. + {source: "patrol-app"}')
ag_eq "allowed client: accepted" "$(curve --key-file "$K/patrol.key" <<<"$visit" | jq -r .ok)" true
ag_eq "allowed client, type not allowed: E_FORBIDDEN" \
    "$(curve --key-file "$K/patrol.key" <<<"$(jq -c '.type = "tip.received"' <<<"$visit")" | jq -r '"\(.code) \(.field)"')" "E_FORBIDDEN type"
ag_eq "allowed client, other source: E_FORBIDDEN" \
    "$(curve --key-file "$K/patrol.key" <<<"$(jq -c '.source = "hotline"' <<<"$visit")" | jq -r '"\(.code) \(.field)"')" "E_FORBIDDEN source"
ag_eq "allowed client, other subdistrict: E_FORBIDDEN" \
    "$(curve --key-file "$K/patrol.key" <<<"$(jq -c '.subdistrict = "shanhe"' <<<"$visit")" | jq -r '"\(.code) \(.field)"')" "E_FORBIDDEN subdistrict"
curve --key-file "$K/stranger.key" <<<"$visit" >/dev/null 2>&1
ag_eq "unknown key: no answer" "$?" 3
submit "$SUB" --retries 1 --timeout-ms 1000 <<<"$visit" >/dev/null 2>&1
ag_eq "no CURVE at all: no answer" "$?" 3
# CURVE adds its own bytes to every frame on the wire; the bound a client
# sees is the same as without it (protocol.md section 1).
for n in 66527 66528 66560; do
    ag_check "CURVE: $n-byte frame: E_TOO_LARGE" \
        grep -q E_TOO_LARGE <<<"$(sized "$SUB" $n "$K/server.pub" "$K/patrol.key")"
done
ag_eq "CURVE: 66,561-byte frame: no reply" "$(sized "$SUB" 66561 "$K/server.pub" "$K/patrol.key")" "no reply"
ag_check "unknown key refused by ZAP and logged" grep -q "key not in the allow-list" "$AG_WORK/curve.log"
ag_eq "only the allowed event stored" "$(count_log)" 1
ag_check "stats: secure, clients counted" \
    jq -e >/dev/null '.secure and .clients_accepted >= 1 and .clients_refused >= 1 and .refused_by_code.E_FORBIDDEN == 3' \
    <<<"$("$A" query '{"op":"stats"}' --endpoint "$CTL")"
ag_check "curve intake stops cleanly" ag_stop curve
ag_db_drop

ag_summary
