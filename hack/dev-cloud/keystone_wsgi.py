"""Keystone's public WSGI application for uwsgi, with its policy rules loaded up front.

oslo.policy loads rules on the first enforcement and, on that first load, resets the
rule set before re-reading it (a policy.d directory exists in /etc/keystone). With
several uwsgi threads the first concurrent requests of a fresh worker can see the
empty set and get 403 "not authorized" for admin: seen here right after a restart.
Loading the rules while the worker imports the app, before it serves, closes that gap.
"""
from keystone.common.rbac_enforcer import enforcer as _rbac
from keystone.server.wsgi import initialize_public_application

application = initialize_public_application()

_policy = _rbac.RBACEnforcer()._enforcer
_policy.suppress_deprecation_warnings = True  # as keystone does under a request
_policy.load_rules()
