"""When a video visit's room is open: typed clinic settings, editable by admins."""

from clinic.registry import SettingSpec, register

VIDEO_OPENS_MINUTES_BEFORE = register(
    SettingSpec(
        key="video_opens_minutes_before",
        type="int",
        default=10,
        help="A video visit's room opens this many minutes before the start.",
        public=True,
        min_value=0,
        max_value=24 * 60,
    )
)
VIDEO_CLOSES_MINUTES_AFTER = register(
    SettingSpec(
        key="video_closes_minutes_after",
        type="int",
        default=30,
        help="A video visit's room closes this many minutes after the end.",
        public=True,
        min_value=0,
        max_value=24 * 60,
    )
)
