#!/usr/bin/env python3
# Wheel repair, as auditwheel does it (auditwheel cannot be installed here): reads every
# ELF file of a wheel, grafts the libraries it needs from the build dependencies into
# <dist>.libs/ under content-hashed sonames, points DT_NEEDED and RUNPATH at them with
# patchelf, and retags the wheel with the most compatible manylinux tag (PEP 600) its
# symbol versions allow. The output zip is deterministic: sorted entries, one timestamp
# (SOURCE_DATE_EPOCH), fixed permissions. Exit status is the verdict; a failure's reason
# is the last stderr line, starting "wheel repair: ".
import argparse
import base64
import csv
import glob
import hashlib
import io
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manylinux  # noqa: E402

from elftools.common.exceptions import ELFError  # noqa: E402
from elftools.elf.dynamic import DynamicSection  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402
from elftools.elf.gnuversions import GNUVerNeedSection  # noqa: E402


class RepairError(Exception):
    pass


# -- ELF ---------------------------------------------------------------------------

def analyse(data):
    """needed, rpath entries, soname, versions ({version: library}), machine of an ELF image; None if not ELF."""
    if data[:4] != b"\x7fELF":
        return None
    try:
        elf = ELFFile(io.BytesIO(data))
        info = {"needed": [], "rpath": [], "soname": None, "versions": {}, "machine": (elf["e_machine"], elf.elfclass, elf.little_endian)}
        for sec in elf.iter_sections():
            if isinstance(sec, DynamicSection):
                for tag in sec.iter_tags():
                    t = tag.entry.d_tag
                    if t == "DT_NEEDED":
                        info["needed"].append(tag.needed)
                    elif t == "DT_RPATH":
                        info["rpath"] += [p for p in tag.rpath.split(":") if p]
                    elif t == "DT_RUNPATH":
                        info["rpath"] += [p for p in tag.runpath.split(":") if p]
                    elif t == "DT_SONAME":
                        info["soname"] = tag.soname
            elif isinstance(sec, GNUVerNeedSection):
                for verneed, aux in sec.iter_versions():
                    for a in aux:
                        info["versions"][a.name] = verneed.name
        return info
    except ELFError as e:
        raise RepairError(f"cannot read ELF: {e}")


def machine_of(path):
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            return (elf["e_machine"], elf.elfclass, elf.little_endian)
    except (OSError, ELFError):
        return None


def system_lib_dirs():
    dirs = []
    for pattern in ("/lib/*-linux-gnu*", "/usr/lib/*-linux-gnu*"):
        dirs += sorted(glob.glob(pattern))
    return dirs + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]


def find_library(soname, machine, deps):
    """(source description, host path) of a library: the dependency prefixes first, then the system."""
    for name, prefix in deps:
        for d in ["lib", "lib64"] + [os.path.relpath(p, prefix) for p in sorted(glob.glob(os.path.join(prefix, "lib", "*-linux-gnu*")))]:
            cand = os.path.join(prefix, d, soname)
            if os.path.isfile(cand) and machine_of(cand) == machine:
                return {"dependency": name, "path": posixpath.join(d, soname)}, os.path.realpath(cand)
    for d in system_lib_dirs():
        cand = os.path.join(d, soname)
        if os.path.isfile(cand) and machine_of(cand) == machine:
            return {"system": cand}, os.path.realpath(cand)
    return None, None


def patchelf(args):
    r = subprocess.run(["patchelf"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RepairError(f"patchelf {' '.join(args)} failed: {r.stderr.strip() or r.returncode}")


# -- wheel ---------------------------------------------------------------------------

def parse_name(filename):
    parts = filename[:-4].split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise RepairError(f"{filename} is not a wheel file name (<dist>-<version>[-<build>]-<python>-<abi>-<platform>.whl)")
    return parts


def read_wheel(path):
    files = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name.startswith("/") or ".." in name.split("/"):
                raise RepairError(f"{os.path.basename(path)} has an unsafe entry {name!r}")
            mode = (info.external_attr >> 16) & 0o777
            files[name] = [z.read(info), 0o755 if mode & 0o111 else 0o644]
    return files


def dist_info_dir(files, filename):
    dirs = sorted({n.split("/")[0] for n in files if n.split("/")[0].endswith(".dist-info") and n.count("/") == 1})
    if len(dirs) != 1:
        raise RepairError(f"{filename} must have exactly one .dist-info directory, found {len(dirs)}")
    return dirs[0]


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(path, files, distinfo, epoch):
    """A zip that depends only on names, contents and modes; RECORD last, as PEP 427 recommends."""
    record = f"{distinfo}/RECORD"
    files = {n: v for n, v in files.items() if n not in (record, f"{distinfo}/RECORD.jws", f"{distinfo}/RECORD.p7s")}
    rows = io.StringIO()
    w = csv.writer(rows, lineterminator="\n")  # quotes the rare name with a comma, as PEP 376 asks
    for n, (d, _) in sorted(files.items()):
        w.writerow([n, record_hash(d), len(d)])
    w.writerow([record, "", ""])
    files[record] = [rows.getvalue().encode(), 0o644]
    order = sorted(n for n in files if not n.startswith(distinfo + "/"))
    order += sorted(n for n in files if n.startswith(distinfo + "/") and n != record) + [record]
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip dates start in 1980
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w") as z:
        for name in order:
            data, mode = files[name]
            zi = zipfile.ZipInfo(name, date_time=stamp)
            zi.create_system = 3
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data, compresslevel=9)
    os.replace(tmp, path)


def retag_wheel_file(text, plats):
    out, seen = [], set()
    for line in text.splitlines():
        if line.startswith("Tag: "):
            py, abi, _ = line[5:].strip().split("-", 2)
            for p in plats:
                tag = f"Tag: {py}-{abi}-{p}"
                if tag not in seen:
                    seen.add(tag)
                    out.append(tag)
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# -- repair --------------------------------------------------------------------------

def hashed_soname(soname, data):
    h = hashlib.sha256(data).hexdigest()[:8]
    i = soname.find(".so")
    return f"{soname[:i]}-{h}{soname[i:]}" if i > 0 else f"{soname}-{h}"


def repair_one(path, policy, deps, outdir, epoch):
    filename = os.path.basename(path)
    parts = parse_name(filename)
    plat = parts[-1]
    report = {"input": filename, "policy": policy, "grafted": [], "needed": {}, "versions": {}, "setBy": []}
    if not plat.startswith("linux_"):
        # pure (any) or already manylinux: nothing to say about the platform
        shutil.copyfile(path, os.path.join(outdir, filename))
        report.update(output=filename, tag=plat, action="kept", reason=f"platform tag {plat} is not linux_<arch>")
        return report
    arch = plat[len("linux_"):]
    files = read_wheel(path)
    distinfo = dist_info_dir(files, filename)
    elfs = {}
    for name, (data, _) in sorted(files.items()):
        try:
            info = analyse(data)
        except RepairError as e:
            raise RepairError(f"{name} in {filename}: {e}")
        if info is not None:
            elfs[name] = info
    inside = {posixpath.basename(n) for n in elfs} | {i["soname"] for i in elfs.values() if i["soname"]}
    libsdir = f"{parts[0]}.libs"
    grafted = {}  # original soname -> {"name": path in wheel, ...}
    needed = {}  # soname left to the system -> [files]
    queue = list(elfs)
    while queue:
        name = queue.pop(0)
        info = elfs[name]
        for lib in info["needed"]:
            if lib in manylinux.ALLOWED_LIBS:
                needed.setdefault(lib, []).append(name)
                continue
            if lib in inside and lib not in grafted:
                continue
            if policy == "none":
                needed.setdefault(lib, []).append(name)
                continue
            top = name.split("/")[0]
            if top.endswith(".data") and installed_path(name) == name:
                # scripts, headers and data install outside site-packages: no $ORIGIN path reaches <dist>.libs
                raise RepairError(f"{lib}, needed by {name}, cannot be grafted: that file installs outside site-packages")
            if lib in grafted:
                grafted[lib]["neededBy"].append(name)
                continue
            source, host = find_library(lib, info["machine"], deps)
            if host is None:
                raise RepairError(f"{lib}, needed by {name}, is in no dependency prefix nor the allow-list (nor the builder's library directories)")
            with open(host, "rb") as f:
                data = f.read()
            new = hashed_soname(lib, data)
            target = f"{libsdir}/{new}"
            grafted[lib] = {"soname": lib, "file": target, "newSoname": new, "source": source, "sha256": hashlib.sha256(data).hexdigest(), "neededBy": [name]}
            files[target] = [data, 0o755]
            elfs[target] = analyse(data)
            queue.append(target)
    versions = {}
    for name, info in elfs.items():
        for v in info["versions"]:
            versions.setdefault(v, []).append(name)
    report["needed"] = {k: sorted(set(v)) for k, v in sorted(needed.items())}
    report["versions"] = {k: sorted(set(v)) for k, v in sorted(versions.items())}
    if policy == "none":
        shutil.copyfile(path, os.path.join(outdir, filename))
        minor, _ = manylinux.best(arch, versions, needed)
        report.update(output=filename, tag=plat, action="kept", reason="repair policy is none", wouldBe=manylinux.platform_tags(minor, arch) if minor else None)
        return report
    if policy == "manylinux":
        minor, why = manylinux.best(arch, versions, needed)
        if minor is None:
            raise RepairError(f"{filename} fits no manylinux policy for {arch}: {'; '.join(why)}")
        report["setBy"] = why
    else:
        fixed = manylinux.parse_fixed(policy)
        if fixed is None:
            raise RepairError(f"repair policy {policy!r} is neither manylinux, none nor a manylinux platform tag")
        minor, want_arch = fixed
        if want_arch != arch:
            raise RepairError(f"repair policy {policy} is for {want_arch}, and {filename} is {arch}")
        problems = manylinux.violations(minor, arch, versions, needed)
        if problems:
            raise RepairError(f"{filename} cannot be tagged {policy}: {'; '.join(problems)}")
    plats = manylinux.platform_tags(minor, arch)
    patch_files(files, elfs, grafted)
    files[f"{distinfo}/WHEEL"][0] = retag_wheel_file(files[f"{distinfo}/WHEEL"][0].decode(), plats).encode()
    out_name = "-".join(parts[:-1] + [".".join(plats)]) + ".whl"
    write_wheel(os.path.join(outdir, out_name), files, distinfo, epoch)
    report.update(output=out_name, tag=".".join(plats), action="repaired", grafted=[{**g, "neededBy": sorted(set(g["neededBy"]))} for g in grafted.values()])
    return report


def installed_path(name):
    """Where a wheel member lands relative to site-packages: <dist>.data/platlib|purelib/ is unpacked into it."""
    parts = name.split("/")
    if len(parts) > 2 and parts[0].endswith(".data") and parts[1] in ("platlib", "purelib"):
        return "/".join(parts[2:])
    return name


def patch_files(files, elfs, grafted):
    """Renames grafted sonames, points every ELF file at them ($ORIGIN-relative) and drops build-path RPATHs."""
    by_target = {g["file"]: g for g in grafted.values()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(elfs):
            info = elfs[name]
            args = []
            g = by_target.get(name)
            if g:
                args += ["--set-soname", g["newSoname"]]
            for lib in info["needed"]:
                if lib in grafted:
                    args += ["--replace-needed", lib, grafted[lib]["newSoname"]]
            kept = [p for p in info["rpath"] if p.startswith("$ORIGIN")]
            here = posixpath.dirname(installed_path(name))
            wanted = list(kept)
            if any(lib in grafted for lib in info["needed"]):
                libsdir = posixpath.dirname(next(iter(grafted.values()))["file"])
                rel = posixpath.relpath(libsdir, here or ".")
                entry = "$ORIGIN" if rel == "." else f"$ORIGIN/{rel}"
                if entry not in wanted:
                    wanted.append(entry)
            if wanted != info["rpath"]:
                args += ["--set-rpath", ":".join(wanted)] if wanted else ["--remove-rpath"]
            if not args:
                continue
            disk = os.path.join(tmp, "elf")
            with open(disk, "wb") as f:
                f.write(files[name][0])
            # One operation per call: patchelf 0.14 mangles the string table when
            # --replace-needed and --set-rpath share an invocation.
            for op in split_ops(args):
                patchelf(op + [disk])
            with open(disk, "rb") as f:
                files[name][0] = f.read()


def split_ops(args):
    arity = {"--set-soname": 1, "--replace-needed": 2, "--set-rpath": 1, "--remove-rpath": 0}
    ops, i = [], 0
    while i < len(args):
        n = arity[args[i]]
        ops.append(args[i:i + n + 1])
        i += n + 1
    return ops


def main(argv):
    ap = argparse.ArgumentParser(description="repair wheels: graft libraries, retag manylinux")
    ap.add_argument("--policy", default="manylinux")
    ap.add_argument("--out", required=True, help="directory for the repaired wheels")
    ap.add_argument("--report", required=True, help="where the JSON report goes")
    ap.add_argument("--deps", default="", help="colon-separated dependency prefixes ($WELD_DEPS)")
    ap.add_argument("--dep-names", default="", help="colon-separated package names of those prefixes")
    ap.add_argument("wheels", nargs="+")
    a = ap.parse_args(argv)
    prefixes = [p for p in a.deps.split(":") if p]
    names = [n for n in a.dep_names.split(":") if n]
    deps = [(names[i] if i < len(names) else p, p) for i, p in enumerate(prefixes)]
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    os.makedirs(a.out, exist_ok=True)
    try:
        wheels = [repair_one(w, a.policy, deps, a.out, epoch) for w in sorted(a.wheels)]
    except RepairError as e:
        print(f"wheel repair: {e}", file=sys.stderr)
        return 1
    tmp = a.report + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"policy": a.policy, "wheels": wheels}, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.report)
    for w in wheels:
        print(f"repaired {w['input']} -> {w['output']} ({w['action']}; {len(w['grafted'])} librar{'y' if len(w['grafted']) == 1 else 'ies'} grafted)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
