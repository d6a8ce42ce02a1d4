#!/bin/sh
# Entrypoint of the Asterisk container (docker-compose.yml): writes the secrets
# that are not in git from environment variables, opens the recordings
# directory to the callcenter container's group, then runs Asterisk, which
# drops root for the "asterisk" user (-U/-G).
#
#   AMI_SECRET       secret of the AMI user "callcenter" (manager.conf)
#   AGENT_PASSWORDS  "1001=secret,1002=secret,...": one SIP password per agent
#   SUPERVISOR_PASSWORDS  "2001=secret,...": one per supervisor softphone (live
#                    monitoring); a supervisor endpoint without one cannot register
#   TRUNK_HOST, TRUNK_USERNAME, TRUNK_PASSWORD   the SIP provider
#   RECORDINGS_GID   group shared with the callcenter container (default 2000)
#   POSTGRES_PASSWORD, POSTGRES_PORT   the callcenter database, where cel_pgsql
#                    writes Asterisk's CEL (cel_pgsql.conf)
#   CEL_DB_WAIT_S    seconds to wait for PostgreSQL before starting Asterisk
#                    (default 60; 0 = do not wait)
set -eu

fail() { echo "asterisk-entrypoint: $*" >&2; exit 2; }

# A value goes into an Asterisk .conf line: no ';' (a comment), quotes or blanks.
check_secret() {
    name=$1 value=$2
    [ "${#value}" -ge 12 ] || fail "$name must be at least 12 characters"
    case $value in
        change-me*) fail "$name still has the placeholder of .env.example" ;;
        *[\;\"\'\\[:space:]]*) fail "$name must not contain ; quotes, backslashes or blanks" ;;
    esac
}

: "${AMI_SECRET:?AMI_SECRET is not set (copy .env.example to .env)}"
: "${AGENT_PASSWORDS:?AGENT_PASSWORDS is not set, e.g. 1001=...,1002=...}"
: "${TRUNK_HOST:?TRUNK_HOST is not set}"
: "${TRUNK_USERNAME:?TRUNK_USERNAME is not set}"
: "${TRUNK_PASSWORD:?TRUNK_PASSWORD is not set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
check_secret AMI_SECRET "$AMI_SECRET"
check_secret TRUNK_PASSWORD "$TRUNK_PASSWORD"
check_secret POSTGRES_PASSWORD "$POSTGRES_PASSWORD"
pg_port=${POSTGRES_PORT:-5432}
case $pg_port in
    ''|*[!0-9]*) fail "POSTGRES_PORT '$pg_port' is not a port number" ;;
esac

out=/etc/asterisk/callcenter-secrets
umask 027
mkdir -p "$out"

printf 'secret = %s\n' "$AMI_SECRET" > "$out/manager.conf"

# sip_auths PREFIX VARIABLE "NNNN=password,...": one [PREFIXNNNN-auth] section each.
sip_auths() {
    prefix=$1 variable=$2
    for pair in $(printf '%s' "$3" | tr ',' ' '); do
        ext=${pair%%=*} password=${pair#*=}
        case $ext in
            ''|*[!0-9]*) fail "$variable: '$ext' is not an extension number" ;;
        esac
        check_secret "password of $prefix$ext" "$password"
        printf '[%s%s-auth](auth-agent)\nusername = %s%s\npassword = %s\n\n' \
            "$prefix" "$ext" "$prefix" "$ext" "$password"
    done
}

{
    sip_auths agent AGENT_PASSWORDS "$AGENT_PASSWORDS"
    sip_auths supervisor SUPERVISOR_PASSWORDS "${SUPERVISOR_PASSWORDS:-}"
    printf '[trunk-aor]\ntype = aor\ncontact = sip:%s\nqualify_frequency = 60\n\n' "$TRUNK_HOST"
    printf '[trunk-auth]\ntype = auth\nauth_type = userpass\nusername = %s\npassword = %s\n\n' \
        "$TRUNK_USERNAME" "$TRUNK_PASSWORD"
    printf '[trunk-reg]\ntype = registration\nserver_uri = sip:%s\nclient_uri = sip:%s@%s\n' \
        "$TRUNK_HOST" "$TRUNK_USERNAME" "$TRUNK_HOST"
    printf 'outbound_auth = trunk-auth\nretry_interval = 60\n\n'
    printf '[trunk-identify]\ntype = identify\nendpoint = trunk\nmatch = %s\n' "$TRUNK_HOST"
} > "$out/pjsip.conf"

printf 'port = %s\npassword = %s\n' "$pg_port" "$POSTGRES_PASSWORD" > "$out/cel_pgsql.conf"

chown -R root:asterisk "$out"

monitor=/var/spool/asterisk/monitor
mkdir -p "$monitor"
chown asterisk:"${RECORDINGS_GID:-2000}" "$monitor"
chmod 2775 "$monitor"

# cel_pgsql reads the cel table's columns once, when Asterisk loads it: wait for
# PostgreSQL (a host reboot starts both at once), but never keep calls out for long.
wait_s=${CEL_DB_WAIT_S:-60}
if [ "$wait_s" != 0 ] && command -v python3 >/dev/null 2>&1; then
    python3 /etc/asterisk/pg_ready.py /etc/asterisk/cel_pgsql.conf "$pg_port" "$wait_s" \
        || echo "asterisk-entrypoint: PostgreSQL not ready after ${wait_s}s: CEL is not" \
                "written until 'module unload cel_pgsql.so' + 'module load cel_pgsql.so'" >&2
fi

if [ "$#" -eq 0 ]; then
    set -- /usr/sbin/asterisk -f -U asterisk -G asterisk -vvv
fi
exec "$@"
