# The callcenter image: the daemon and the web UI, as an unprivileged user.
#   docker build -t callcenter .        (docker-compose.yml builds it for you)
# Configuration comes from CALLCENTER_* variables and AMI_* (see .env.example);
# nothing secret is baked in.

FROM python:3.11.11-slim-bookworm AS build
# gcc builds the AMI parser's C accelerator into the wheel (the runtime image needs no compiler)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY callcenter ./callcenter
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CALLCENTER_LOG_FORMAT=json \
    CALLCENTER_QA__FORMS_DIR=/opt/callcenter/qa/forms \
    CALLCENTER_DATABASE__DATA_DIR=/var/lib/callcenter/pgdata \
    CALLCENTER_DATABASE__SPOOL_DIR=/var/lib/callcenter/spool \
    CALLCENTER_RECORDINGS__STORE_DIR=/var/lib/callcenter/recordings \
    CALLCENTER_RECORDINGS__LOCAL_DIR=/var/spool/asterisk/monitor \
    DIALPLAN_DIR=/etc/callcenter/dialplan
RUN groupadd --system --gid 10001 callcenter \
    && useradd --system --uid 10001 --gid callcenter --home-dir /var/lib/callcenter \
       --create-home --shell /usr/sbin/nologin callcenter
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-compile /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY qa /opt/callcenter/qa
COPY dialplan /etc/callcenter/dialplan
USER callcenter
WORKDIR /var/lib/callcenter
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "callcenter.cli.container", "health"]
ENTRYPOINT ["python", "-m", "callcenter.cli.container"]
CMD ["run"]
