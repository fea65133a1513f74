"""Who is who: local and directory users, groups, role grants, logins, tokens, sessions."""
