"""`chotdon worker --agents`: which readers a worker's app runs, for each choice."""

from __future__ import annotations

import pytest

from config.settings import Settings
from stream.app import create_app
from stream.automation_intake import AutomationIntake
from stream.intake import CommentIntake


def _readers(agents: list[str]) -> tuple[list[type], list[str]]:
    app = create_app(Settings(), agents=agents)
    services = [type(service) for service in app._extra_services]
    return services, sorted(agent.name.rsplit(".", 1)[-1] for agent in app.agents.values())


def test_every_agent_by_default() -> None:
    app = create_app(Settings())
    assert [type(s) for s in app._extra_services] == [CommentIntake, AutomationIntake]
    assert [a.name.rsplit(".", 1)[-1] for a in app.agents.values()] == ["command_agent"]


@pytest.mark.parametrize(
    ("agents", "services", "faust_agents"),
    [
        (["comments"], [CommentIntake], []),
        (["commands"], [], ["command_agent"]),
        (["automation"], [AutomationIntake], []),
        (["commands", "automation"], [AutomationIntake], ["command_agent"]),
    ],
)
def test_each_choice_runs_what_it_names(
    agents: list[str], services: list[type], faust_agents: list[str]
) -> None:
    assert _readers(agents) == (services, faust_agents)


def test_the_automation_intake_reads_both_event_topics_in_its_own_group() -> None:
    settings = Settings()
    (service,) = create_app(settings, agents=["automation"])._extra_services
    assert isinstance(service, AutomationIntake)
    assert service.topics == (settings.topics.order_events, settings.topics.draft_events)
    assert service.group == f"{settings.app_id}.automation"


def test_an_unknown_agent_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown agents"):
        create_app(Settings(), agents=["automations"])
