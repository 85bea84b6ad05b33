"""Recordings: scoped metadata, audio with HTTP ranges, and an audit entry per playback."""

from __future__ import annotations

from hotline.store.models import Recording
from tests.unit.api.conftest import AUDIO, World


async def test_playback_supports_ranges_and_is_audited(world: World, clients) -> None:
    qa = clients["qa"]
    recording_id = world.ids["recording_A"]
    whole = await qa.get(f"/api/v1/recordings/{recording_id}/audio")
    assert whole.status_code == 200
    assert whole.content == AUDIO
    assert whole.headers["content-type"] == "audio/wav"
    part = await qa.get(f"/api/v1/recordings/{recording_id}/audio", headers={"Range": "bytes=4-9"})
    assert part.status_code == 206
    assert part.content == AUDIO[4:10]
    assert part.headers["content-range"] == f"bytes 4-9/{len(AUDIO)}"
    beyond = await qa.get(
        f"/api/v1/recordings/{recording_id}/audio", headers={"Range": "bytes=99999-"}
    )
    assert beyond.status_code == 416
    audit = await clients["auditor"].get("/api/v1/audit-log", params={"resource": "recordings"})
    plays = [entry for entry in audit.json() if entry["action"] == "play"]
    assert [(p["actor"], p["detail"]["range"]) for p in plays] == [
        ("qa", None),
        ("qa", "bytes=4-9"),
        ("qa", "bytes=99999-"),
    ]


async def test_recordings_are_scoped_to_the_department(world: World, clients) -> None:
    rows = (await clients["supervisor"].get("/api/v1/recordings")).json()
    assert [row["call_id"] for row in rows] == ["call-A-0"]
    other = world.ids["recording_B"]
    for path in (f"/api/v1/recordings/{other}", f"/api/v1/recordings/{other}/audio"):
        assert (await clients["supervisor"].get(path)).status_code == 404
    all_rows = (await clients["qa"].get("/api/v1/recordings")).json()
    assert len(all_rows) == 2


async def test_a_path_outside_the_recordings_directory_is_never_served(
    world: World, clients
) -> None:
    async with world.context.database.session() as session:
        escaped = Recording(
            call_id="evil",
            path="../../../etc/passwd",
            started_at=(await session.get(Recording, world.ids["recording_A"])).started_at,  # type: ignore[union-attr]
        )
        session.add(escaped)
        await session.commit()
        escaped_id = escaped.id
    response = await clients["admin"].get(f"/api/v1/recordings/{escaped_id}/audio")
    assert response.status_code == 404
    assert "root:" not in response.text


async def test_voicemail_messages_are_listed_by_kind_with_their_mailbox(
    world: World, clients
) -> None:
    async with world.context.database.session() as session:
        call = await session.get(Recording, world.ids["recording_A"])
        assert call is not None
        message = Recording(
            call_id="call-A-0",
            department_id=call.department_id,
            path="A/call-A-0-vm1.wav",
            started_at=call.started_at,
            kind="voicemail",
            mailbox="sales",
        )
        session.add(message)
        await session.commit()
    qa = clients["qa"]
    voicemail = (await qa.get("/api/v1/recordings", params={"kind": "voicemail"})).json()
    assert [(r["call_id"], r["kind"], r["mailbox"]) for r in voicemail] == [
        ("call-A-0", "voicemail", "sales")
    ]
    calls = (await qa.get("/api/v1/recordings", params={"kind": "call"})).json()
    assert {r["kind"] for r in calls} == {"call"}
    assert len(calls) == 2
    assert (await qa.get("/api/v1/recordings", params={"kind": "fax"})).status_code == 422
