"""Users, login and roles: password hashes, signed tokens, the route role table, the middleware."""
