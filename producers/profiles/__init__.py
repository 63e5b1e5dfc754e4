"""Site profiles: one YAML file of selectors per site (see producers/site_profile.py)."""
