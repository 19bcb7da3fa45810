from stream.command_positions import mark_key, missed_offsets, positions_key, scopes_lost_from


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


def test_a_shard_that_lost_writes_moves_the_start_back_to_just_after_its_mark() -> None:
    assert missed_offsets(stored=41, since=10, offset=42, lost_from=35) == range(35, 42)


def test_a_shard_loss_after_the_records_own_does_not_move_the_start_forward() -> None:
    assert missed_offsets(stored=30, since=10, offset=42, lost_from=38) == range(31, 42)


def test_scopes_whose_marks_are_at_the_records_lose_nothing() -> None:
    recorded = {"a": (3, 20), "b": (5, 9)}
    assert scopes_lost_from(recorded, {"a": 20, "b": 9}) is None


def test_the_earliest_scope_behind_its_record_says_where_the_loss_starts() -> None:
    recorded = {"a": (3, 20), "b": (5, 9), "c": (1, 30)}
    assert scopes_lost_from(recorded, {"a": 12, "b": 7, "c": 30}) == 8


def test_a_scope_without_a_mark_lost_everything_since_it_was_first_marked() -> None:
    assert scopes_lost_from({"a": (3, 20)}, {"a": None}) == 3


def test_a_scope_whose_keys_are_gone_is_not_replayed() -> None:
    assert scopes_lost_from({"a": (3, 20)}, {}) is None


def test_a_livestreams_marks_are_in_its_meta_and_a_shops_in_its_own_hash_tag() -> None:
    assert mark_key(("shop-a", "live-1")) == "chotdon:{shop-a:live-1}:meta"
    assert mark_key(("shop-a", None)) == "chotdon:{shop-a}:command-marks"
