"""Certificate profiles and subject-DN profiles: files -> validated config -> immutable rules.

- :mod:`.files` parses YAML/JSON text defensively;
- :mod:`.config` validates a document, every problem at once;
- :mod:`.compiler` turns it into the immutable rules (:class:`Profile`, :class:`SubjectRules`);
- :mod:`.subject` and :mod:`.san_policy` hold a request's subject and names to the rules;
- :mod:`.builtins` are the profiles Chancery ships.
"""

from chancery.pki.profiles.builtins import builtin_documents, builtin_profile, builtin_profiles
from chancery.pki.profiles.compiler import compile_profile, compile_subject
from chancery.pki.profiles.config import InvalidProfile, ProfileConfig, SubjectProfileConfig, invalid, load_document
from chancery.pki.profiles.files import dump_profile, parse_profile_text
from chancery.pki.profiles.model import (
    KeyRule,
    LintMode,
    LintPolicy,
    Profile,
    ProfileKind,
    SubjectRules,
)

__all__ = [
    "InvalidProfile",
    "KeyRule",
    "LintMode",
    "LintPolicy",
    "Profile",
    "ProfileConfig",
    "ProfileKind",
    "SubjectProfileConfig",
    "SubjectRules",
    "builtin_documents",
    "builtin_profile",
    "builtin_profiles",
    "compile_profile",
    "compile_subject",
    "dump_profile",
    "invalid",
    "load_document",
    "parse_profile_text",
]
