"""The benchmark playbook, pyinfra's version."""

from io import StringIO

from pyinfra.operations import files, server

APP = "pyinfrabench"

server.user(name="user", user=APP, system=True, shell="/usr/sbin/nologin", create_home=False)
for sub in ("releases", "shared", "logs"):
    files.directory(name=f"dirs {sub}", path=f"/opt/{APP}/{sub}", mode="755")
files.put(
    name="limits",
    src=StringIO(f"{APP} soft nofile 65536\n{APP} hard nofile 65536\n"),
    dest=f"/etc/security/limits.d/{APP}.conf",
    mode="644",
)
files.template(name="env", src="templates/env.j2", dest=f"/opt/{APP}/.env", mode="600", app=APP, workers=4)
files.template(
    name="unit", src="templates/unit.j2", dest=f"/etc/systemd/system/{APP}-api.service", mode="644", app=APP
)
files.line(name="sshd", path="/etc/ssh/sshd_config", line=f"^# bench {APP} managed$")
server.shell(name="uptime", commands=["uptime"])
