"""inference.protocol.ahead_of_others: drafts' calls go ahead where the scorer can put them ahead."""

from inference.protocol import ahead_of_others
from tests.fakes import FakeScorer


class WithUrgentLane(FakeScorer):
    def urgent(self) -> FakeScorer:
        return FakeScorer(version="urgent-view")


def test_a_scorer_with_an_urgent_lane_gives_its_view_and_others_are_themselves():
    plain = FakeScorer()
    assert ahead_of_others(plain) is plain
    assert ahead_of_others(WithUrgentLane()).version == "urgent-view"
