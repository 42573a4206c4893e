# The manylinux policies (PEP 599, PEP 600) as weld applies them: which libraries a
# wheel may leave to the system, and the newest symbol version of each family that a
# glibc-N system is sure to provide. Figures follow the reference distros of each
# policy (CentOS 7 for 2_17, Debian 9 for 2_24, AlmaLinux 8 for 2_28, ...), as
# auditwheel's policy table records them; written out here as maxima, not lists.
import re

# Always there on any glibc system, so never grafted.
_BASE_LIBS = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libutil.so.1",
    "libnsl.so.1", "libanl.so.1", "libresolv.so.2", "libgcc_s.so.1", "libstdc++.so.6",
    "libatomic.so.1", "libz.so.1", "libX11.so.6", "libXext.so.6", "libXrender.so.1",
    "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0", "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    # the dynamic loaders: an executable may name its own
    "ld-linux-x86-64.so.2", "ld-linux.so.2", "ld64.so.1", "ld64.so.2", "ld-linux-aarch64.so.1",
}

# (glibc minor, legacy alias, {family: newest allowed version}, extra libs allowed)
_POLICIES = [
    (5, "manylinux1", {"GLIBCXX": "3.4.8", "CXXABI": "1.3.1", "GCC": "4.2.0"}, set()),
    (12, "manylinux2010", {"GLIBCXX": "3.4.13", "CXXABI": "1.3.3", "GCC": "4.5.0"}, {"libexpat.so.1"}),
    (17, "manylinux2014", {"GLIBCXX": "3.4.19", "CXXABI": "1.3.7", "GCC": "4.8.0"}, {"libexpat.so.1"}),
    (24, None, {"GLIBCXX": "3.4.22", "CXXABI": "1.3.10", "GCC": "4.8.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (26, None, {"GLIBCXX": "3.4.24", "CXXABI": "1.3.11", "GCC": "7.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (27, None, {"GLIBCXX": "3.4.24", "CXXABI": "1.3.11", "GCC": "7.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (28, None, {"GLIBCXX": "3.4.25", "CXXABI": "1.3.11", "GCC": "7.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (31, None, {"GLIBCXX": "3.4.28", "CXXABI": "1.3.12", "GCC": "7.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (34, None, {"GLIBCXX": "3.4.29", "CXXABI": "1.3.13", "GCC": "7.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (35, None, {"GLIBCXX": "3.4.30", "CXXABI": "1.3.13", "GCC": "12.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (36, None, {"GLIBCXX": "3.4.30", "CXXABI": "1.3.13", "GCC": "12.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (38, None, {"GLIBCXX": "3.4.30", "CXXABI": "1.3.13", "GCC": "12.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
    (39, None, {"GLIBCXX": "3.4.33", "CXXABI": "1.3.15", "GCC": "14.0.0"}, {"libexpat.so.1", "libmvec.so.1"}),
]

# The oldest policy each architecture has: s390x, aarch64 and ppc64le start at manylinux2014.
_FLOOR = {"x86_64": 5, "i686": 5}
_DEFAULT_FLOOR = 17

# Every library any policy allows: what is never grafted.
ALLOWED_LIBS = _BASE_LIBS | {"libexpat.so.1", "libmvec.so.1"}

_VERSIONED = re.compile(r"^(GLIBC|GLIBCXX|CXXABI|GCC)_(.+)$")
# Variants of a family whose version is still comparable (long double, IEEE128 ABIs).
_VARIANT = re.compile(r"^(?:LDBL_|IEEE128_)?(\d+(?:\.\d+)*)$")


def _num(v):
    return tuple(int(x) for x in v.split("."))


def family_version(name):
    """('GLIBC', (2, 17)) for GLIBC_2.17; None for versions no policy limits; ('GLIBC', None) for GLIBC_PRIVATE."""
    m = _VERSIONED.match(name)
    if not m:
        return None
    fam, ver = m.group(1), m.group(2)
    if fam == "GLIBC" and ver == "ABI_DT_RELR":
        return ("GLIBC", (2, 36))  # packed relocations need the glibc that introduced them
    v = _VARIANT.match(ver)
    if not v:
        # TM_1, FLOAT128 and the like ride along with their family; GLIBC_PRIVATE never does
        return (fam, None) if fam == "GLIBC" else None
    return (fam, _num(v.group(1)))


def floor(arch):
    return _FLOOR.get(arch, _DEFAULT_FLOOR)


def known_minors(arch):
    return [p[0] for p in _POLICIES if p[0] >= floor(arch)]


def _policy_for(minor):
    """The policy whose limits hold for glibc 2.<minor>: the newest one not newer than it."""
    fit = [p for p in _POLICIES if p[0] <= minor]
    return fit[-1] if fit else None


def violations(minor, arch, versions, needed):
    """Why a wheel is not manylinux_2_<minor>_<arch>: a list of sentences, empty if it is.

    versions: {symbol version name: [files using it]}; needed: {soname: [files needing it]}
    (the libraries left to the system after grafting)."""
    policy = _policy_for(minor)
    if policy is None or minor < floor(arch):
        return [f"manylinux_2_{minor} does not exist for {arch} (the oldest is manylinux_2_{floor(arch)})"]
    _, _, limits, extra = policy
    out = []
    for lib in sorted(needed):
        if lib not in _BASE_LIBS and lib not in extra:
            out.append(f"{lib}, needed by {', '.join(sorted(needed[lib]))}, is not in the manylinux_2_{minor} allow-list")
    for name in sorted(versions):
        fv = family_version(name)
        if fv is None:
            continue
        fam, ver = fv
        users = ", ".join(sorted(versions[name]))
        if ver is None:
            out.append(f"{name}, used by {users}, is private to glibc")
        elif fam == "GLIBC":
            if ver > (2, minor):
                out.append(f"{name}, used by {users}, is newer than glibc 2.{minor} provides")
        elif ver > _num(limits[fam]):
            out.append(f"{name}, used by {users}, is newer than manylinux_2_{minor} allows ({fam}_{limits[fam]})")
    return out


def platform_tags(minor, arch):
    """The PEP 600 tag, then its legacy alias where one exists."""
    tags = [f"manylinux_2_{minor}_{arch}"]
    policy = _policy_for(minor)
    if policy and policy[0] == minor and policy[1]:
        tags.append(f"{policy[1]}_{arch}")
    return tags


def best(arch, versions, needed):
    """(minor, why not the one before) of the most compatible policy the wheel meets, or (None, why not the newest)."""
    minors = known_minors(arch)
    previous = []
    for minor in minors:
        v = violations(minor, arch, versions, needed)
        if not v:
            return minor, previous
        previous = v
    return None, previous


_FIXED = re.compile(r"^manylinux_2_(\d+)_([a-z0-9_]+)$")
_LEGACY = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}


def parse_fixed(tag):
    """(minor, arch) of a fixed target tag such as manylinux_2_28_s390x or manylinux2014_s390x; None if it is not one."""
    m = _FIXED.match(tag)
    if m:
        return int(m.group(1)), m.group(2)
    for legacy, minor in _LEGACY.items():
        if tag.startswith(legacy + "_") and len(tag) > len(legacy) + 1:
            return minor, tag[len(legacy) + 1:]
    return None
