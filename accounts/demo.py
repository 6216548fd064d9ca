"""The demo clinic's people. Passwords are fixed and listed in README.md."""

DEMO_PASSWORD = "ClinicDemo-2026!"  # noqa: S105 (demo accounts only, documented)

ADMIN = {"email": "admin@clinic.example", "first_name": "Ada", "last_name": "Admin"}
RECEPTION = {"email": "reception@clinic.example", "first_name": "Rita", "last_name": "Reception"}

DOCTORS = [
    {
        "email": "dr.house@clinic.example",
        "first_name": "Gregory",
        "last_name": "House",
        "specialization": "Diagnostics",
    },
    {
        "email": "dr.grey@clinic.example",
        "first_name": "Meredith",
        "last_name": "Grey",
        "specialization": "General Surgery",
    },
    {
        "email": "dr.quinn@clinic.example",
        "first_name": "Michaela",
        "last_name": "Quinn",
        "specialization": "Family Medicine",
    },
    {
        "email": "dr.watson@clinic.example",
        "first_name": "John",
        "last_name": "Watson",
        "specialization": "General Practice",
    },
    {
        "email": "dr.strange@clinic.example",
        "first_name": "Stephen",
        "last_name": "Strange",
        "specialization": "Neurology",
    },
]

PATIENT_NAMES = [
    ("Alice", "Anders"),
    ("Bob", "Baker"),
    ("Carla", "Cruz"),
    ("Dev", "Desai"),
    ("Elena", "Ekström"),
    ("Farid", "Farouk"),
    ("Grace", "Gomez"),
    ("Hiro", "Hayashi"),
    ("Ines", "Ibarra"),
    ("Jonas", "Jensen"),
    ("Kofi", "Kwame"),
    ("Lena", "Lund"),
    ("Mateo", "Moreno"),
    ("Nadia", "Novak"),
    ("Omar", "Osei"),
    ("Priya", "Patel"),
    ("Quinn", "Quade"),
    ("Rosa", "Rossi"),
    ("Sam", "Sato"),
    ("Tara", "Thompson"),
]


def patient_email(index: int) -> str:
    return f"patient{index + 1:02d}@clinic.example"
