#!/bin/sh
# Entrypoint of the Asterisk container (docker-compose.yml): writes the secrets
# that are not in git from environment variables, opens the recordings
# directory to the callcenter container's group, then runs Asterisk, which
# drops root for the "asterisk" user (-U/-G).
#
#   AMI_SECRET       secret of the AMI user "callcenter" (manager.conf)
#   AGENT_PASSWORDS  "1001=secret,1002=secret,...": one SIP password per agent
#   TRUNK_HOST, TRUNK_USERNAME, TRUNK_PASSWORD   the SIP provider
#   RECORDINGS_GID   group shared with the callcenter container (default 2000)
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
check_secret AMI_SECRET "$AMI_SECRET"
check_secret TRUNK_PASSWORD "$TRUNK_PASSWORD"

out=/etc/asterisk/callcenter-secrets
umask 027
mkdir -p "$out"

printf 'secret = %s\n' "$AMI_SECRET" > "$out/manager.conf"

{
    for pair in $(printf '%s' "$AGENT_PASSWORDS" | tr ',' ' '); do
        ext=${pair%%=*} password=${pair#*=}
        case $ext in
            ''|*[!0-9]*) fail "AGENT_PASSWORDS: '$ext' is not an extension number" ;;
        esac
        check_secret "password of agent$ext" "$password"
        printf '[agent%s-auth](auth-agent)\nusername = agent%s\npassword = %s\n\n' \
            "$ext" "$ext" "$password"
    done
    printf '[trunk-aor]\ntype = aor\ncontact = sip:%s\nqualify_frequency = 60\n\n' "$TRUNK_HOST"
    printf '[trunk-auth]\ntype = auth\nauth_type = userpass\nusername = %s\npassword = %s\n\n' \
        "$TRUNK_USERNAME" "$TRUNK_PASSWORD"
    printf '[trunk-reg]\ntype = registration\nserver_uri = sip:%s\nclient_uri = sip:%s@%s\n' \
        "$TRUNK_HOST" "$TRUNK_USERNAME" "$TRUNK_HOST"
    printf 'outbound_auth = trunk-auth\nretry_interval = 60\n\n'
    printf '[trunk-identify]\ntype = identify\nendpoint = trunk\nmatch = %s\n' "$TRUNK_HOST"
} > "$out/pjsip.conf"

chown -R root:asterisk "$out"

monitor=/var/spool/asterisk/monitor
mkdir -p "$monitor"
chown asterisk:"${RECORDINGS_GID:-2000}" "$monitor"
chmod 2775 "$monitor"

if [ "$#" -eq 0 ]; then
    set -- /usr/sbin/asterisk -f -U asterisk -G asterisk -vvv
fi
exec "$@"
