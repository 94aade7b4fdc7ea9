"""The role benchmark's tasks, written for pyinfra (it cannot read Ansible roles)."""

from io import StringIO

from pyinfra.operations import files, server, systemd

APP = "pyinfrabench"
PORT, WORKERS, NOFILE = 8000, 4, 65536

server.user(name="service account", user=APP, system=True, shell="/usr/sbin/nologin", create_home=False)
for sub in ("releases", "shared", "logs"):
    files.directory(name=f"app directories {sub}", path=f"/opt/{APP}/{sub}", mode="755")
files.put(
    name="open files limit",
    src=StringIO(f"{APP} soft nofile {NOFILE}\n{APP} hard nofile {NOFILE}\n"),
    dest=f"/etc/security/limits.d/{APP}.conf",
    mode="644",
)
files.line(name="sshd marks the app", path="/etc/ssh/sshd_config", line=f"^# bench {APP} managed$")
context = {"app": APP, "port": PORT, "workers": WORKERS, "base_nofile": NOFILE}
files.template(name="environment file", src="roles/webapp/templates/env.j2", dest=f"/opt/{APP}/.env", mode="600", **context)
unit = files.template(
    name="unit file",
    src="roles/webapp/templates/unit.j2",
    dest=f"/etc/systemd/system/{APP}-api.service",
    mode="644",
    **context,
)
systemd.daemon_reload(name="reload units", _if=unit.did_change)
server.shell(name="uptime", commands=["uptime"])
