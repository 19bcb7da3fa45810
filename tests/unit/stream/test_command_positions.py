from stream.command_positions import missed_offsets, positions_key


def test_the_positions_key_names_the_app_and_the_topic() -> None:
    assert positions_key("chotdon", "chotdon.order-commands") == (
        "chotdon:commands:chotdon:chotdon.order-commands"
    )


def test_nothing_is_missed_when_the_store_kept_the_offset_just_before() -> None:
    assert not missed_offsets(stored=41, since=10, offset=42)


def test_a_redelivered_command_the_store_is_past_misses_nothing() -> None:
    assert not missed_offsets(stored=50, since=10, offset=42)


def test_a_store_that_went_back_misses_everything_after_what_it_kept() -> None:
    assert missed_offsets(stored=30, since=10, offset=42) == range(31, 42)


def test_kafka_committed_past_the_store_at_assignment_misses_the_gap() -> None:
    assert missed_offsets(stored=30, since=None, offset=42) == range(31, 42)


def test_a_store_without_a_record_goes_back_to_the_first_command_this_agent_handled() -> None:
    assert missed_offsets(stored=None, since=12, offset=42) == range(12, 42)


def test_a_new_deployment_without_any_record_starts_where_kafka_says() -> None:
    assert not missed_offsets(stored=None, since=None, offset=42)
    assert not missed_offsets(stored=None, since=42, offset=42)
