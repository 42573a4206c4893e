"""weld's wheel test: install wheels by unpacking them, import modules, run commands.

Installing is unpacking (a wheel is a zip laid out as site-packages; its .data/purelib
and .data/platlib go there too, .data/scripts to bin/), so the runtime env needs no pip
and no network. Modules are imported in this interpreter, one after the other: under
emulation every extra Python start costs seconds. The verdict is the exit status; the
last line that starts with "test: FAILED" says why.
"""
import argparse
import glob
import importlib
import json
import os
import stat
import subprocess
import sys
import traceback
import zipfile

SITE_DIRS = ("site-packages", "dist-packages")


def safe_member(name):
    parts = name.split("/")
    return not (name.startswith("/") or "\\" in name or ".." in parts or "\0" in name)


def install(wheel, site, bindir):
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            if not safe_member(name):
                raise SystemExit("test: FAILED: %s has an unsafe member %r" % (os.path.basename(wheel), name))
            if name.endswith("/"):
                continue
            head, _, rest = name.partition("/")
            dest = os.path.join(site, name)
            if head.endswith(".data") and rest:
                kind, _, sub = rest.partition("/")
                if kind in ("purelib", "platlib"):
                    dest = os.path.join(site, sub)
                elif kind == "scripts":
                    dest = os.path.join(bindir, sub)
                else:
                    continue  # headers and data files are not needed to import or run
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(info) as src, open(dest, "wb") as out:
                out.write(src.read())
            mode = (info.external_attr >> 16) & 0o777
            if mode & 0o111 or dest.startswith(bindir + os.sep):
                os.chmod(dest, os.stat(dest).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def outside_site(module, site):
    """A module that came from another site-packages (the env's own Debian package) is not the wheel's."""
    f = getattr(module, "__file__", None)
    if not f:
        return None
    f = os.path.realpath(f)
    if f.startswith(os.path.realpath(site) + os.sep):
        return None
    return f if any(("/%s/" % d) in f for d in SITE_DIRS) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--deps", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.spec) as f:
        spec = json.load(f)
    sys.dont_write_bytecode = True
    site = os.path.join(a.out, "site")
    bindir = os.path.join(a.out, "bin")
    work = os.path.join(a.out, "work")
    for d in (site, bindir, work):
        os.makedirs(d, exist_ok=True)
    wheels = []
    for dep in a.deps.split(":"):
        if dep:
            wheels += sorted(glob.glob(os.path.join(dep, "*.whl")))
    print("test: python %s on %s" % (sys.version.split()[0], os.uname().machine), flush=True)
    for w in wheels:
        install(w, site, bindir)
        print("test: installed %s" % os.path.basename(w), flush=True)

    sys.path.insert(0, site)
    failures = []
    for name in spec.get("imports", []):
        try:
            module = importlib.import_module(name)
        except BaseException as e:  # an import may raise anything, SystemExit included
            traceback.print_exc(file=sys.stdout)
            failures.append("import %s: %s: %s" % (name, type(e).__name__, e))
            continue
        elsewhere = outside_site(module, site)
        if elsewhere:
            failures.append("import %s: found %s, not the tested wheel's copy (the env has its own)" % (name, elsewhere))
            continue
        print("test: import %s ok (%s)" % (name, getattr(module, "__file__", "built in")), flush=True)

    env = dict(os.environ)
    env["PYTHONPATH"] = site
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["WELD_TEST_SITE"] = site
    env["HOME"] = work
    for i, cmd in enumerate(spec.get("commands", []), 1):
        print("test: $ %s" % cmd, flush=True)
        status = subprocess.call(["/bin/sh", "-c", cmd], cwd=work, env=env, stdin=subprocess.DEVNULL)
        if status != 0:
            failures.append("command %d (%s) exited with status %d" % (i, cmd.splitlines()[0][:80], status))

    if failures:
        for f in failures:
            print("test: FAILED: %s" % f, flush=True)
        sys.exit(1)
    print("test: passed (%d imports, %d commands)" % (len(spec.get("imports", [])), len(spec.get("commands", []))), flush=True)


if __name__ == "__main__":
    main()
