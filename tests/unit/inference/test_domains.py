"""Leave-domains-out naming: the held-out models must be registrable, so `reviewpulse run` can serve them."""

from inference.training.domains import lodo_name
from stream.registry.store import VERSION_PATTERN


def test_held_out_models_get_names_the_registry_accepts():
    assert lodo_name(["skytrax_airlines", "telecom_apps_canada"]) == "lodo-skytrax_airlines.telecom_apps_canada"
    many = [f"source_number_{i}" for i in range(12)]
    long_name = lodo_name(many)
    assert long_name.startswith("lodo-12-sources-") and long_name == lodo_name(list(many))
    assert long_name != lodo_name(many[:11] + ["another"])
    odd = lodo_name(["app store", "yelp"])  # a source name with a space
    for name in (lodo_name(["yelp"]), long_name, odd):
        assert VERSION_PATTERN.match(f"{name}-202612071116"), name
