"""Static vocabularies of the simulated SaaS business: plans, segments, features, texts."""

from __future__ import annotations

import numpy as np

PLANS = ("starter", "growth", "pro", "enterprise")
PLAN_HAZARD = np.array([1.5, 1.0, 0.8, 0.55])
# Price per seat per month in minor units, by currency (rows) and plan (columns).
CURRENCIES = ("USD", "EUR", "GBP")
SEAT_PRICE_MINOR = np.array(
    [[1500, 3500, 6000, 9500], [1400, 3200, 5500, 8800], [1200, 2800, 4800, 7500]]
)
ANNUAL_DISCOUNT = 0.85

SIZE_BANDS = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SIZE_BAND_P = np.array([0.35, 0.30, 0.20, 0.10, 0.05])
SIZE_HAZARD = np.array([1.3, 1.0, 0.85, 0.7, 0.6])
SEAT_RANGE = np.array([[1, 5], [3, 15], [8, 40], [20, 120], [50, 400]])
# P(plan | size band), rows = band.
PLAN_GIVEN_BAND = np.array(
    [
        [0.60, 0.30, 0.08, 0.02],
        [0.35, 0.40, 0.20, 0.05],
        [0.15, 0.40, 0.30, 0.15],
        [0.05, 0.25, 0.40, 0.30],
        [0.02, 0.13, 0.35, 0.50],
    ]
)
OWNER_P_BY_PLAN = np.array([0.05, 0.30, 0.70, 0.95])

BILLING_INTERVALS = ("month", "year")
ANNUAL_P_BY_PLAN = np.array([0.10, 0.20, 0.35, 0.60])
BILLING_HAZARD = np.array([1.0, 0.6])

INDUSTRIES = (
    "software",
    "fintech",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
    "professional_services",
)
INDUSTRY_P = np.array([0.22, 0.10, 0.10, 0.14, 0.12, 0.10, 0.08, 0.14])
INDUSTRY_HAZARD = np.array([0.9, 0.85, 0.8, 1.2, 0.95, 1.25, 1.15, 1.0])

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_P = np.array([0.50, 0.30, 0.15, 0.05])
REGION_UTC_OFFSET_H = np.array([-6, 1, 8, -4])
# P(currency | region), rows = region, columns = CURRENCIES.
CURRENCY_GIVEN_REGION = np.array(
    [[1.0, 0.0, 0.0], [0.35, 0.45, 0.20], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
)

CONTACT_ROLES = ("admin", "billing", "executive", "power_user", "user")
CONTACT_ROLE_P = np.array([0.0, 0.2, 0.15, 0.3, 0.35])

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dev",
    "Emma", "Farah", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nadia",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Chen", "Kim", "Okafor", "Novak", "Rossi", "Silva", "Müller", "Dubois",
    "Patel", "Nguyen", "Kowalski", "Haddad", "Ivanova", "Larsen", "Mendes", "Tanaka", "Brown",
    "Cohen", "Fischer", "Jensen", "Khan", "Lopez", "Moreau", "Nakamura", "O'Brien", "Park",
    "Quintero", "Reyes", "Sato", "Taylor", "Usman", "Varga", "Weber", "Young", "Zhang",
    "Abbott", "Bauer", "Costa",
)  # fmt: skip
NAME_ADJECTIVES = (
    "Blue", "Bright", "Cedar", "Clear", "Copper", "Crimson", "Delta", "Evergreen", "First",
    "Golden", "Granite", "Harbor", "Iron", "Lunar", "Maple", "North", "Nova", "Oak", "Pine",
    "Prime", "Quantum", "Red", "Silver", "Solar", "Summit", "True", "Vertex", "West", "Wild",
    "Zen",
)  # fmt: skip
NAME_NOUNS = (
    "Analytics", "Bridge", "Cloud", "Data", "Dynamics", "Forge", "Health", "Labs", "Logic",
    "Logistics", "Media", "Metrics", "Motion", "Networks", "Partners", "Pay", "Point",
    "Retail", "Robotics", "Signal", "Software", "Studio", "Systems", "Works", "Ventures",
)  # fmt: skip
NAME_SUFFIXES = ("Inc.", "LLC", "Ltd", "GmbH", "Group", "Co.", "SA", "BV", "Pty Ltd", "AB")
VENDOR_EMAIL_DOMAIN = "csm.tenure-sim.example.com"
