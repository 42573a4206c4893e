"""weld's wheel test: install wheels by unpacking them, import modules, run commands.

Installing is unpacking (a wheel is a zip laid out as site-packages; its .data/purelib
and .data/platlib go there too, .data/scripts to bin/), so the runtime env needs no pip
and no network. Modules are imported in this interpreter, one after the other: under
emulation every extra Python start costs seconds, and so does every module imported
here (json and argparse cost a second under qemu: they pull in re), so the spec is plain
text and subprocess and traceback load only when needed. The verdict is the exit status;
the first line that starts with "test: FAILED" says why.

Usage: test_wheel.py <spec dir> <deps> <out>. The spec dir holds `imports` (one module per
line) and `command-<n>` files (one shell command each, in order).
"""
import importlib
import os
import stat
import sys
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


def read_spec(spec_dir):
    with open(os.path.join(spec_dir, "imports")) as f:
        imports = [line.strip() for line in f if line.strip()]
    names = sorted((n for n in os.listdir(spec_dir) if n.startswith("command-")), key=lambda n: int(n.split("-", 1)[1]))
    commands = []
    for n in names:
        with open(os.path.join(spec_dir, n)) as f:
            commands.append(f.read())
    return imports, commands


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: test_wheel.py <spec dir> <deps> <out>")
    spec_dir, deps, out = sys.argv[1:4]
    imports, commands = read_spec(spec_dir)
    sys.dont_write_bytecode = True
    site = os.path.join(out, "site")
    bindir = os.path.join(out, "bin")
    work = os.path.join(out, "work")
    for d in (site, bindir, work):
        os.makedirs(d, exist_ok=True)
    wheels = []
    for dep in deps.split(":"):
        if dep:
            wheels += sorted(os.path.join(dep, n) for n in os.listdir(dep) if n.endswith(".whl"))
    print("test: python %s on %s" % (sys.version.split()[0], os.uname().machine), flush=True)
    for w in wheels:
        install(w, site, bindir)
        print("test: installed %s" % os.path.basename(w), flush=True)

    sys.path.insert(0, site)
    failures = []
    for name in imports:
        try:
            module = importlib.import_module(name)
        except BaseException as e:  # an import may raise anything, SystemExit included
            import traceback

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
    if commands:
        import subprocess
    for i, cmd in enumerate(commands, 1):
        print("test: $ %s" % cmd, flush=True)
        status = subprocess.call(["/bin/sh", "-c", cmd], cwd=work, env=env, stdin=subprocess.DEVNULL)
        if status != 0:
            failures.append("command %d (%s) exited with status %d" % (i, cmd.splitlines()[0][:80], status))

    if failures:
        for f in failures:
            print("test: FAILED: %s" % f, flush=True)
        sys.exit(1)
    print("test: passed (%d imports, %d commands)" % (len(imports), len(commands)), flush=True)


if __name__ == "__main__":
    main()
