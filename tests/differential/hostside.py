# Run on a lab host by the differential suite, as
#   python3 -c "$(cat hostside.py)" reset|state SPEC
# SPEC is JSON: {"paths": [...], "units": [...], "users": [...],
# "groups": [...], "packages": [...]}, what a case declares it touches.
#   reset  puts those back to the image's state: units stopped, disabled and
#          unmasked, paths removed, users and groups deleted, packages purged.
#   state  prints their state as one JSON object, the same way on both twins.
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True)


def name_of_uid(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def name_of_gid(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content(path, size):
    """Small text as it is, so that a report can show a diff; else a hash."""
    if size <= 16384:
        with open(path, "rb") as f:
            data = f.read()
        try:
            return {"content": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"size": size, "sha256": sha256(path)}


def entry(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"type": "absent"}
    found = {"owner": name_of_uid(st.st_uid), "group": name_of_gid(st.st_gid)}
    if stat.S_ISLNK(st.st_mode):
        found.update(type="link", target=os.readlink(path))
        return found
    found["mode"] = format(stat.S_IMODE(st.st_mode), "04o")
    if stat.S_ISREG(st.st_mode):
        found.update(type="file", **content(path, st.st_size))
    elif stat.S_ISDIR(st.st_mode):
        found["type"] = "directory"
    else:
        found["type"] = "other"
    return found


def tree(root):
    """The root and, for a directory, everything below it, by path."""
    found = {root: entry(root)}
    if found[root]["type"] == "directory":
        for top, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                found[path] = entry(path)
    return found


def unit(name):
    props = "LoadState,ActiveState,UnitFileState,NeedDaemonReload"
    out = run("systemctl", "show", "-p", props, "--", name).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def user(name):
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    groups = sorted(g.gr_name for g in grp.getgrall() if name in g.gr_mem)
    shadow = run("getent", "shadow", name).stdout.split(":")
    return {
        "exists": True,
        "uid": pw.pw_uid,
        "group": name_of_gid(pw.pw_gid),
        "groups": ",".join(groups),
        "comment": pw.pw_gecos,
        "home": pw.pw_dir,
        "shell": pw.pw_shell,
        "password": shadow[1] if len(shadow) > 1 else "",
    }


def group(name):
    try:
        gr = grp.getgrnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "gid": gr.gr_gid, "members": ",".join(sorted(gr.gr_mem))}


def package(name):
    out = run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Version}", "--", name)
    if out.returncode != 0 or not out.stdout.startswith("ii"):
        return {"status": out.stdout[:3].strip() or "not-installed"}
    return {"status": "installed", "version": out.stdout[3:]}


def state(spec):
    paths = {}
    for root in spec["paths"]:
        paths.update(tree(root))
    return {
        "paths": paths,
        "units": {name: unit(name) for name in spec["units"]},
        "users": {name: user(name) for name in spec["users"]},
        "groups": {name: group(name) for name in spec["groups"]},
        "packages": {name: package(name) for name in spec["packages"]},
    }


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        subprocess.run(["rm", "-rf", "--", path], check=True)
    elif os.path.lexists(path):
        os.unlink(path)


def reset(spec):
    for name in spec["units"]:
        run("systemctl", "unmask", "--", name)
        run("systemctl", "disable", "--now", "--", name)
        run("systemctl", "reset-failed", "--", name)
    for path in spec["paths"]:
        remove(path)
    if spec["units"]:
        run("systemctl", "daemon-reload")
    for name in spec["users"]:
        if user(name)["exists"]:
            run("userdel", "-r", "-f", "--", name)
    for name in spec["groups"]:
        if group(name)["exists"]:
            run("groupdel", "--", name)
    installed = [name for name in spec["packages"] if package(name)["status"] != "not-installed"]
    if installed:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for argv in (["apt-get", "purge", "-y", "-q", "--"] + installed,
                     ["apt-get", "autoremove", "--purge", "-y", "-q"]):
            done = subprocess.run(argv, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"{' '.join(argv)}: {done.stderr}")
    return {}


def main():
    mode, spec = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"reset": reset, "state": state}[mode](spec), sort_keys=True))


main()
