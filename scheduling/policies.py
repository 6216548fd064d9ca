"""The clinic's scheduling policies: typed settings stored in the database, editable by admins."""

from clinic.registry import SettingSpec, register

BOOKING_HORIZON_DAYS = register(
    SettingSpec(
        key="booking_horizon_days",
        type="int",
        default=60,
        help="How many days ahead slots exist and may be booked.",
        public=True,
        min_value=1,
        max_value=366,
    )
)
MIN_NOTICE_MINUTES = register(
    SettingSpec(
        key="min_notice_minutes",
        type="int",
        default=60,
        help="A patient may book or move to a slot only this many minutes ahead (staff may override).",
        min_value=0,
        max_value=7 * 24 * 60,
    )
)
PATIENT_CANCEL_NOTICE_MINUTES = register(
    SettingSpec(
        key="patient_cancel_notice_minutes",
        type="int",
        default=0,
        help="A patient may cancel online up to this many minutes before the start (0: until the start; "
        "never after it, when only staff may cancel and the patient's absence is a no-show).",
        min_value=0,
        max_value=7 * 24 * 60,
    )
)
PATIENT_RESCHEDULE_NOTICE_MINUTES = register(
    SettingSpec(
        key="patient_reschedule_notice_minutes",
        type="int",
        default=0,
        help="A patient may move an appointment only this many minutes before its start (0: until the start).",
        min_value=0,
        max_value=7 * 24 * 60,
    )
)
MAX_OPEN_APPOINTMENTS_PER_PATIENT = register(
    SettingSpec(
        key="max_open_appointments_per_patient",
        type="int",
        default=5,
        help="The most active (booked, checked-in, in-progress) appointments one patient may hold.",
        min_value=1,
        max_value=100,
    )
)
DEFAULT_SLOT_MINUTES = register(
    SettingSpec(
        key="default_slot_minutes",
        type="int",
        default=30,
        help="The slot length of an availability rule created without one.",
        public=True,
        min_value=5,
        max_value=240,
    )
)
CHECKIN_OPENS_MINUTES_BEFORE = register(
    SettingSpec(
        key="checkin_opens_minutes_before",
        type="int",
        default=0,
        help="Check-in opens this many minutes before the start (0: any time).",
        min_value=0,
        max_value=7 * 24 * 60,
    )
)
MAX_RULES_PER_DOCTOR = register(
    SettingSpec(
        key="max_rules_per_doctor",
        type="int",
        default=50,
        help="Weekly availability rules one doctor may have; each one costs every slot regeneration.",
        min_value=1,
        max_value=500,
    )
)
MAX_EXCEPTIONS_PER_DOCTOR = register(
    SettingSpec(
        key="max_exceptions_per_doctor",
        type="int",
        default=200,
        help="Time-off entries one doctor may have that have not ended yet.",
        min_value=1,
        max_value=5000,
    )
)
HOLD_MINUTES = register(
    SettingSpec(
        key="hold_minutes",
        type="int",
        default=5,
        help="How long a patient may hold a free slot while they confirm the booking.",
        public=True,
        min_value=1,
        max_value=60,
    )
)
