# The role benchmark's tasks as one hand-written POSIX sh script per host,
# the physical limit: bench/roles-vs-ansible pipes it to `ssh HOST sh -s`
# with APP set. Idempotent: it changes only what differs.
set -eu
put() { # put DEST MODE: stdin becomes DEST unless DEST already holds it
  tmp=$(mktemp "$1.XXXXXX"); cat >"$tmp"; chmod "$2" "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}
id -u "$APP" >/dev/null 2>&1 || useradd --system --shell /usr/sbin/nologin --no-create-home "$APP"
mkdir -p -m 0755 "/opt/$APP/releases" "/opt/$APP/shared" "/opt/$APP/logs"
printf '%s soft nofile 65536\n%s hard nofile 65536\n' "$APP" "$APP" | put "/etc/security/limits.d/$APP.conf" 0644 || true
grep -q "^# bench $APP" /etc/ssh/sshd_config || echo "# bench $APP managed" >>/etc/ssh/sshd_config
printf 'APP=%s\nPORT=8000\nWORKERS=4\n' "$APP" | put "/opt/$APP/.env" 0600 || true
if printf '[Unit]\nDescription=%s api\n\n[Service]\nUser=%s\nEnvironmentFile=/opt/%s/.env\nExecStart=/opt/%s/venv/bin/uvicorn app:app --port 8000 --workers 4\nLimitNOFILE=65536\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n' \
  "$APP" "$APP" "$APP" "$APP" | put "/etc/systemd/system/$APP-api.service" 0644; then
  systemctl daemon-reload
fi
uptime >/dev/null
