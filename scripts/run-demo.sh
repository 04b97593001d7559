#!/usr/bin/env bash
# `make run`: start Palisade on the embedded default (palisade serve: NATS
# with JetStream on ./.palisade, the local EC2 endpoint, the API and a
# worker), walk through the seed lab with palisadectl, then stay up until
# Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${PALISADE_DATA_DIR:-./.palisade}
export PALISADE_SERVER=${PALISADE_SERVER:-127.0.0.1:50051}
ctl=bin/palisadectl
mkdir -p "$data"
log="$data/serve.log"

bin/palisade serve --data-dir "$data" >>"$log" 2>&1 &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap 'echo; echo "Stopping Palisade..."; stop; echo "Stopped. State is kept in $data."; exit 0' INT TERM
trap stop EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { { printf '$'; printf ' %q' "$@"; echo; } >&2; "$@"; }

step "Starting palisade serve (log: $log)"
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "palisade serve exited; its log says:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if $ctl list-operations >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "API on $PALISADE_SERVER, NATS on 127.0.0.1:4222, local EC2 on 127.0.0.1:4566"

# Fixed request ids make the walk-through idempotent: run it again and
# Palisade answers with the operations it already ran.
# run_op runs a mutating command with --wait --output json (events stream
# to stderr as they happen), prints the finished operation as a table and
# sets $group to the group it touched.
run_op() {
  local out
  out=$(show "$@" --wait --output json)
  group=$(sed -n 's/.*"groupId": "\(sg-[0-9a-f]*\)".*/\1/p' <<<"$out" | head -n 1)
  $ctl get-operation "$(sed -n 's/.*"name": "\(operations\/[0-9a-f]*\)".*/\1/p' <<<"$out" | head -n 1)"
}

step "Create ftp-sg (events as they happen)"
run_op $ctl create-security-group --group-name ftp-sg --description "Rules for FTP traffic" \
  --request-id 0f7c3a52-9d1e-4b8a-8f2e-5a1c9b7d3e01
ftp=$group

step "Allow FTP from anywhere and from 10.0.0.0/16 on ftp-sg ($ftp)"
run_op $ctl authorize-security-group-ingress --group-id "$ftp" \
  --ip-permissions "IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]" \
  --request-id 0f7c3a52-9d1e-4b8a-8f2e-5a1c9b7d3e02

step "Create ssh-http-sg with SSH and HTTP inbound"
run_op $ctl create-security-group --group-name ssh-http-sg --description "SG for SSH and HTTP traffic" \
  --ip-permissions "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]" \
                   "IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]" \
  --request-id 0f7c3a52-9d1e-4b8a-8f2e-5a1c9b7d3e03
ssh=$group

step "The groups as EC2 holds them"
show $ctl describe-security-groups --group-ids "$ftp" "$ssh"

cat <<MSG

Palisade is running. In another terminal, try:

  export PALISADE_SERVER=$PALISADE_SERVER
  $ctl authorize-security-group-ingress --group-id $ssh --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=10.0.0.0/8,Description=HTTPS from the VPN}]' --wait
  $ctl revoke-security-group-ingress --group-id $ftp --ip-permissions 'IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]' --wait
  $ctl authorize-security-group-ingress --group-id $ftp --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.5}]'   # invalid: exit 2, field named
  $ctl list-operations
  $ctl watch <operation name>
  aws --endpoint-url http://127.0.0.1:4566 ec2 describe-security-groups   # the local EC2 endpoint speaks EC2's API

To name callers by their certificates (SPIFFE ID) and decide by a policy, serve with mutual TLS and call with a client certificate:
  bin/palisade serve --tls-cert server.pem --tls-key server-key.pem --tls-client-ca clients-ca.pem --policy deploy/policy
  $ctl list-operations --tls-cert client.pem --tls-key client-key.pem --tls-ca server-ca.pem   # or PALISADE_TLS_CERT, PALISADE_TLS_KEY, PALISADE_TLS_CA

Ctrl-C stops it; state stays in $data (delete the folder to start afresh).
MSG
wait "$pid"
