"""The organisation as a whole, seen from inside its schema: what it uses (members,
projects, tasks, storage). Not a Django app (no models); its figures come from the tenant
apps that own them, so it lives on the tenant side (shared_apps/billing must not import
tenant apps)."""
