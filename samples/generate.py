#!/usr/bin/env python3
"""Regenerate the illustrative sample CSV files of naptrack.

Run from the repository root (or from anywhere):

    python3 samples/generate.py

It rewrites institutions.csv, funding_sources.csv, plans.csv, objectives.csv,
activities.csv, obligations.csv, budget_lines.csv, commitments.csv,
disbursements.csv and exchange_rates.csv next to this script, then reads them
back and checks that they tell the story of samples/README.md (the flags are
where it says they are). It exits non-zero if a check fails. Whether the files
are valid is the importer's to judge: the test suite imports this folder with
naptrack itself.

ALL FIGURES ARE INVENTED AND ILLUSTRATIVE. Institution names, donors, grants,
contracts, legal references, amounts, dates and exchange rates are made up to
exercise the software; they do not describe any real budget or real payment.
The output is reproducible: the random generator uses a fixed seed and only
the Python 3 standard library is used.
"""

import csv
import datetime as dt
import os
import random
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20150101
rng = random.Random(SEED)

PLAN = "NAP-2015"
PLAN_START = dt.date(2015, 1, 1)
PLAN_END = dt.date(2019, 12, 31)
YEARS = list(range(2015, 2020))

# The story's key records (see README.md).
VCF = "VCF"
NATA = "NATA"
NATA_QUIET_FROM = dt.date(2016, 1, 15)   # no NATA disbursement from ...
NATA_QUIET_TO = dt.date(2016, 11, 30)    # ... to this date, inclusive
NATA_LAST_BEFORE = dt.date(2016, 1, 12)  # last NATA payment before the silence
NATA_BACK_ON = [dt.date(2016, 12, 6), dt.date(2016, 12, 20)]
MAX_GAP_DAYS = 66                        # "at least every couple of months"
INACTIVE_DAYS = 180                      # the contract's default threshold

# --------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------

INSTITUTIONS = [
    # code, name, kind, iati_ref
    ("NCO", "Office of the National Coordinator against Trafficking in Human Beings", "government", ""),
    ("NATA", "National Anti-Trafficking Agency", "government", ""),
    ("MIA", "Ministry of Internal Affairs", "government", ""),
    ("MLSW", "Ministry of Labour and Social Welfare", "government", ""),
    ("MOJ", "Ministry of Justice", "government", ""),
    ("MOF", "Ministry of Finance", "government", ""),
    ("PTHB", "Police Directorate for Investigation of Trafficking in Human Beings", "government", ""),
    ("SPO", "Office of the State Prosecutor", "government", ""),
    ("SHELTER-A", "Safe House Association (licensed NGO shelter)", "ngo", ""),
    ("SHELTER-B", "Bridges to Safety Centre (licensed NGO shelter)", "ngo", ""),
    ("PGATO", "Partner Government Anti-Trafficking Assistance Office", "donor", "XI-IATI-PGATO"),
    ("EUROL", "EU Rule of Law Support Instrument", "multilateral", "XM-DAC-90001"),
    ("UNMA", "UN Migration Agency, Country Office", "multilateral", "XM-DAC-90002"),
    ("PRINTCO", "Dardania Print House LLC", "private", ""),
    ("ITSOL", "Datalink Solutions LLC", "private", ""),
    ("CATERCO", "Arbëria Catering LLC", "private", ""),
    ("BAR", "Chamber of Advocates, legal aid panel", "other", ""),
]

FUNDING_SOURCES = [
    # code, name, donor_code, kind, currency, years the source funds
    ("SB", "State budget", "", "state_budget", "EUR", YEARS),
    ("PG-2015", "Partner Government anti-trafficking grant 2015-2017", "PGATO", "donor_grant", "USD", [2015, 2016, 2017]),
    ("PG-2018", "Partner Government anti-trafficking grant 2018-2019", "PGATO", "donor_grant", "USD", [2018, 2019]),
    ("EU-2016", "EU support to the fight against trafficking 2016-2019", "EUROL", "donor_grant", "EUR", [2016, 2017, 2018, 2019]),
    ("UN-2015", "UN victim assistance and return programme 2015-2019", "UNMA", "donor_grant", "USD", YEARS),
    ("MUNI", "Municipal co-financing of local coordination", "", "other", "EUR", [2017, 2018, 2019]),
]
SOURCE_CCY = {s[0]: s[4] for s in FUNDING_SOURCES}
SOURCE_YEARS = {s[0]: s[5] for s in FUNDING_SOURCES}

OBJECTIVES = [
    # code, title, parent_code
    ("PREV", "Prevention of trafficking in human beings", ""),
    ("PROT", "Protection and assistance of victims", ""),
    ("PROS", "Prosecution of traffickers", ""),
    ("PART", "Partnership and coordination", ""),
    ("PREV.1", "Awareness raising and information", "PREV"),
    ("PREV.2", "Reducing vulnerability and demand", "PREV"),
    ("PROT.1", "Identification and referral of victims", "PROT"),
    ("PROT.2", "Shelter, care and assistance", "PROT"),
    ("PROT.3", "Compensation, legal aid and reintegration", "PROT"),
    ("PROS.1", "Investigation", "PROS"),
    ("PROS.2", "Prosecution and adjudication", "PROS"),
    ("PART.1", "National coordination, monitoring and data", "PART"),
    ("PART.2", "International and regional cooperation", "PART"),
]

D = dt.date
END = PLAN_END


def line(source, category, base, growth=1.0, years=None, amounts=None,
         obligation="", payee=None, what=None):
    """A budget-line template: one line per fiscal year the activity and the source run."""
    return dict(source=source, category=category, base=base, growth=growth,
                years=years, amounts=amounts or {}, obligation=obligation,
                payee=payee, what=what)


SHELTER_A = {2015: 60000, 2016: 72000, 2017: 85000, 2018: 95000, 2019: 105000}
SHELTER_B = {2015: 45000, 2016: 55000, 2017: 65000, 2018: 74000, 2019: 82000}
HELPLINE = {2015: 32000, 2016: 33000, 2017: 24000, 2018: 34000, 2019: 35000}
NCO_STAFF = {2015: 85000, 2016: 88000, 2017: 90000, 2018: 92000, 2019: 95000}

ACTIVITIES = [
    # code, title, objective, lead, start, end, status, line templates
    ("PREV-01", "National awareness campaign on trafficking risks", "PREV.1", "MIA", D(2015, 3, 1), END, "ongoing", [
        line("SB", "goods_and_services", 25000, 1.05, payee="PRINTCO", what="campaign"),
        line("PG-2015", "goods_and_services", 40000, years=[2015, 2016], payee="PRINTCO", what="campaign")]),
    ("PREV-02", "Outreach sessions in schools of high-risk municipalities", "PREV.1", "SHELTER-A", D(2015, 2, 1), END, "ongoing", [
        line("SB", "subsidies_and_transfers", 8000, 1.05, what="outreach"),
        line("EU-2016", "goods_and_services", 12000, what="outreach")]),
    ("PREV-03", "Annual national situation assessment on trafficking", "PREV", "NATA", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 15000, what="assessment")]),
    ("PREV-04", "Labour inspections of private employment agencies", "PREV.2", "MLSW", PLAN_START, END, "ongoing", [
        line("SB", "wages", 30000, 1.03)]),
    ("PREV-05", "24-hour helpline for potential and actual victims", "PREV.1", "SHELTER-B", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 0, amounts=HELPLINE, obligation="HELPLINE", what="helpline")]),
    ("PREV-06", "Risk-profiling training for border police", "PREV.2", "PTHB", D(2015, 4, 1), D(2017, 12, 31), "completed", [
        line("SB", "goods_and_services", 10000, years=[2015], what="training"),
        line("PG-2015", "goods_and_services", 25000, what="training")]),
    ("PREV-07", "Media guidelines on reporting trafficking cases", "PREV.1", "NCO", D(2015, 6, 1), D(2016, 6, 30), "completed", [
        line("SB", "goods_and_services", 6000, what="media")]),
    ("PREV-08", "Prevention programme for children in street situations", "PREV.2", "MLSW", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 20000, 1.08, what="grant"),
        line("UN-2015", "goods_and_services", 18000, what="children")]),
    ("PREV-09", "Campaign against online recruitment of young people", "PREV.1", "PTHB", D(2019, 9, 1), END, "planned", []),
    ("PREV-10", "Demand-reduction campaign aimed at buyers of sexual services", "PREV.2", "NCO", D(2016, 1, 1), D(2018, 12, 31), "cancelled", [
        line("SB", "goods_and_services", 12000, years=[2016], payee="PRINTCO", what="campaign")]),
    ("PROT-01", "Operation of the national referral mechanism", "PROT.1", "NCO", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 18000, 1.04, what="referral"),
        line("PG-2015", "goods_and_services", 30000, what="referral")]),
    ("PROT-02", "Standard operating procedures for victim identification", "PROT.1", "NCO", D(2015, 1, 15), D(2015, 12, 31), "completed", [
        line("SB", "goods_and_services", 9000, what="sop"),
        line("UN-2015", "goods_and_services", 10000, years=[2015], what="sop")]),
    ("PROT-03", "Victim identification training for labour inspectors and social workers", "PROT.1", "MLSW", D(2015, 3, 1), D(2018, 6, 30), "completed", [
        line("SB", "goods_and_services", 7000, years=[2015], what="training"),
        line("EU-2016", "goods_and_services", 15000, what="training")]),
    ("PROT-04", "Funding of the licensed shelter run by Safe House Association", "PROT.2", "SHELTER-A", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 0, amounts=SHELTER_A, obligation="SHELTER", what="shelter"),
        line("UN-2015", "goods_and_services", 12000, 1.05, what="shelter_goods")]),
    ("PROT-05", "Funding of the licensed shelter run by Bridges to Safety Centre", "PROT.2", "SHELTER-B", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 0, amounts=SHELTER_B, obligation="SHELTER", what="shelter"),
        line("UN-2015", "goods_and_services", 10000, 1.05, what="shelter_goods")]),
    ("PROT-06", "State-run interim security facility for victims", "PROT.2", "MIA", PLAN_START, END, "ongoing", [
        line("SB", "wages", 40000, 1.03),
        line("SB", "goods_and_services", 22000, 1.02, what="facility")]),
    ("PROT-07", "Medical and psychological assistance to victims", "PROT.2", "MLSW", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 25000, 1.06, what="medical"),
        line("PG-2018", "goods_and_services", 30000, what="medical")]),
    ("PROT-08", "Free legal aid for victims of trafficking", "PROT.3", "MOJ", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 15000, 1.05, payee="BAR", what="legal"),
        line("EU-2016", "goods_and_services", 35000, years=[2016, 2017], payee="BAR", what="legal")]),
    ("PROT-09", "Reintegration grants and vocational training for victims", "PROT.3", "MLSW", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 20000, 1.10, what="reintegration"),
        line("UN-2015", "subsidies_and_transfers", 25000, payee="UNMA", what="reintegration")]),
    ("PROT-10", "Establishment of the state fund for compensating victims of trafficking", "PROT.3", "MOJ", PLAN_START, END, "planned", []),
    ("PROT-11", "Assisted voluntary return of foreign victims", "PROT.2", "MIA", PLAN_START, END, "ongoing", [
        line("UN-2015", "goods_and_services", 20000, years=[2015, 2016, 2017], payee="UNMA", what="return"),
        line("SB", "goods_and_services", 6000, years=[2018, 2019], what="return")]),
    ("PROT-12", "Guardianship for child victims", "PROT.3", "MLSW", D(2016, 3, 1), END, "ongoing", [
        line("SB", "subsidies_and_transfers", 18000, 1.04, what="guardianship")]),
    ("PROS-01", "Equipment for the police anti-trafficking directorate", "PROS.1", "PTHB", D(2015, 2, 1), D(2016, 12, 31), "completed", [
        line("SB", "capital", 0, amounts={2015: 80000, 2016: 45000}, what="equipment"),
        line("PG-2015", "capital", 60000, years=[2015], what="equipment")]),
    ("PROS-02", "Proactive investigations and joint operations", "PROS.1", "PTHB", PLAN_START, END, "ongoing", [
        line("SB", "wages", 65000, 1.03),
        line("SB", "goods_and_services", 12000, what="operations"),
        line("PG-2015", "goods_and_services", 35000, what="operations"),
        line("PG-2018", "goods_and_services", 40000, what="operations")]),
    ("PROS-03", "Financial investigations and confiscation of criminal assets", "PROS.1", "SPO", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 8000, years=[2015], what="financial"),
        line("EU-2016", "goods_and_services", 20000, what="financial")]),
    ("PROS-04", "Specialised training for trafficking prosecutors", "PROS.2", "SPO", PLAN_START, END, "ongoing", [
        line("SB", "wages", 28000, 1.03),
        line("PG-2015", "goods_and_services", 22000, what="training")]),
    ("PROS-05", "Training of judges on trafficking cases", "PROS.2", "MOJ", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 9000, what="training"),
        line("EU-2016", "goods_and_services", 25000, what="training")]),
    ("PROS-06", "Case management system for trafficking cases", "PROS.2", "SPO", D(2016, 1, 1), D(2018, 12, 31), "completed", [
        line("EU-2016", "capital", 0, amounts={2016: 120000, 2017: 60000, 2018: 30000}, payee="ITSOL", what="casesys"),
        line("SB", "goods_and_services", 10000, years=[2017, 2018], payee="ITSOL", what="casesys")]),
    ("PROS-07", "Protection of victim-witnesses in court proceedings", "PROS.2", "MOJ", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 14000, 1.05, what="witness")]),
    ("PROS-08", "Cybercrime capacity against online recruitment", "PROS.1", "PTHB", D(2017, 1, 1), END, "cancelled", [
        line("SB", "capital", 35000, years=[2017], payee="ITSOL", what="cyber")]),
    ("PROS-09", "Joint labour-exploitation investigations with the labour inspectorate", "PROS.1", "MLSW", D(2019, 9, 1), END, "planned", []),
    ("PART-01", "Operations of the National Coordinator's office", "PART.1", "NCO", PLAN_START, END, "ongoing", [
        line("SB", "wages", 0, amounts=NCO_STAFF, obligation="NCO-OFFICE"),
        line("SB", "goods_and_services", 15000, what="office")]),
    ("PART-02", "National anti-trafficking database and statistics", "PART.1", "NATA", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 30000, payee="ITSOL", what="database")]),
    ("PART-03", "Monitoring and evaluation of the action plan", "PART.1", "NCO", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 10000, what="monitoring"),
        line("EU-2016", "goods_and_services", 18000, what="monitoring")]),
    ("PART-04", "Municipal anti-trafficking coordination mechanisms", "PART.1", "MIA", PLAN_START, END, "ongoing", [
        line("SB", "subsidies_and_transfers", 15000, what="municipal"),
        line("MUNI", "subsidies_and_transfers", 8000, what="municipal")]),
    ("PART-05", "Regional cooperation with neighbouring countries", "PART.2", "MIA", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 7000, years=[2015], what="regional"),
        line("EU-2016", "goods_and_services", 14000, what="regional")]),
    ("PART-06", "Tracking and reporting of action plan expenditure", "PART.1", "MOF", PLAN_START, END, "ongoing", [
        line("SB", "wages", 12000, 1.03)]),
    ("PART-07", "Annual reporting to international monitoring bodies", "PART.2", "NCO", PLAN_START, END, "ongoing", [
        line("SB", "goods_and_services", 5000, what="reporting")]),
    ("PART-08", "Memoranda of cooperation with NGOs", "PART.1", "NCO", D(2015, 2, 1), D(2015, 11, 30), "completed", [
        line("SB", "goods_and_services", 4000, what="memoranda")]),
    ("PART-09", "Final evaluation of the action plan", "PART.1", "NCO", D(2019, 10, 1), END, "planned", []),
]
ACT = {a[0]: a for a in ACTIVITIES}

# The sector of each activity: a DAC 5-digit purpose code of IATI's Sector codelist, which the
# IATI export writes on every activity. Prevention and awareness end violence against women and
# girls (15180); police work is the security system (15210); prosecution and the courts, legal
# aid and compensation are legal and judicial development (15130); victim assistance, shelters
# and reintegration are social protection (16010); labour inspections are labour rights (16070);
# coordination, data and monitoring of the plan are public sector policy (15110).
SECTORS = {
    "PREV-01": "15180", "PREV-02": "15180", "PREV-03": "15110", "PREV-04": "16070",
    "PREV-05": "16010", "PREV-06": "15210", "PREV-07": "15180", "PREV-08": "16010",
    "PREV-09": "15180", "PREV-10": "15180",
    "PROT-01": "16010", "PROT-02": "16010", "PROT-03": "16010", "PROT-04": "16010",
    "PROT-05": "16010", "PROT-06": "16010", "PROT-07": "16010", "PROT-08": "15130",
    "PROT-09": "16010", "PROT-10": "15130", "PROT-11": "16010", "PROT-12": "16010",
    "PROS-01": "15210", "PROS-02": "15210", "PROS-03": "15130", "PROS-04": "15130",
    "PROS-05": "15130", "PROS-06": "15130", "PROS-07": "15130", "PROS-08": "15210",
    "PROS-09": "16070",
    "PART-01": "15110", "PART-02": "15110", "PART-03": "15110", "PART-04": "15110",
    "PART-05": "15110", "PART-06": "15110", "PART-07": "15110", "PART-08": "15110",
    "PART-09": "15110",
}
assert set(SECTORS) == set(ACT), "every activity has a sector"

OBLIGATIONS = [
    # code, title, legal_basis, institution, activity, in_force_from, annual_minimum, currency
    (VCF, "State fund for compensating victims of trafficking",
     "Law No. 04/L-218 on Preventing and Combating Trafficking in Human Beings, Article 27",
     "MOJ", "PROT-10", D(2015, 1, 1), "250000.00", "EUR"),
    ("SHELTER", "Annual funding of licensed shelters for victims of trafficking",
     "Law No. 04/L-218 on Preventing and Combating Trafficking in Human Beings, Article 20",
     "MLSW", "", D(2015, 1, 1), "100000.00", "EUR"),
    ("NCO-OFFICE", "Staffed office of the National Coordinator against trafficking",
     "Government Decision No. 02/2015 on the National Coordinator against Trafficking, Article 3",
     "NCO", "PART-01", D(2015, 1, 1), "80000.00", "EUR"),
    ("HELPLINE", "Free 24-hour helpline for victims of trafficking",
     "Law No. 04/L-218 on Preventing and Combating Trafficking in Human Beings, Article 12",
     "MLSW", "PREV-05", D(2015, 1, 1), "30000.00", "EUR"),
]

# Deliberate anomalies (documented in README.md)
OVERSPENT = ("PROT-06", "SB", "goods_and_services", 2018, 124050)  # +1,240.50 EUR
DUPLICATE = ("PROT-05", "SB", "subsidies_and_transfers", 2017)      # entered twice, reversed
PARTIAL = ("PROS-04", "PG-2015", "goods_and_services", 2016)        # partial refund
# The red flags of the integrity rules (cents; dates).
RED_DUPLICATE = ("PREV-01", "SB", "goods_and_services", 2019, 840000,
                 [D(2019, 5, 9), D(2019, 5, 12)])                       # paid twice
RED_SPLIT = ("PROS-05", "EU-2016", "goods_and_services", 2019,
             [(D(2019, 10, 7), 985000), (D(2019, 10, 11), 990000),
              (D(2019, 10, 16), 976000)])                               # split under 10,000
RED_LATE = ("PROS-06", "SB", "goods_and_services", 2018, D(2019, 1, 22), 185000)  # after the end
RED_RUSH = ("PROS-05", "EU-2016", "goods_and_services", 2018,
            [D(2018, 12, 19), D(2018, 12, 28)])                         # December rush

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

WHAT_TEXT = {
    "campaign": ["Printing of campaign leaflets", "TV and radio spots", "Billboard rental, main roads",
                 "Social media campaign, design and placement"],
    "outreach": ["School outreach sessions", "Outreach materials for pupils", "Trainer fees, school sessions"],
    "assessment": ["Field research for the situation assessment", "Data collection, municipalities",
                   "Expert review and printing of the assessment"],
    "helpline": ["Helpline operating grant"],
    "training": ["Training venue and catering", "Trainer fees", "Training materials, printing",
                 "Study visit, travel and per diems"],
    "media": ["Workshop with editors, venue", "Drafting and printing of media guidelines"],
    "grant": ["Grant instalment to outreach teams"],
    "children": ["Drop-in centre supplies", "Street outreach team costs", "School kits for children"],
    "referral": ["Case conferences, regional teams", "Referral forms and database licences",
                 "Interpretation services, victim interviews"],
    "sop": ["Drafting workshop, venue and experts", "Printing of the procedures"],
    "shelter": ["Shelter operating subsidy"],
    "shelter_goods": ["Food, hygiene and clothing for residents", "Bedding and furniture",
                      "Utilities and security, shelter premises"],
    "facility": ["Utilities, interim facility", "Food and supplies, interim facility", "Security services, interim facility"],
    "medical": ["Medical treatment of victims", "Psychological counselling sessions", "Medicines and tests"],
    "legal": ["Legal aid fees, victims' cases", "Court representation, appeal cases"],
    "reintegration": ["Reintegration grants, vocational courses", "Start-up kits for beneficiaries"],
    "return": ["Return travel for foreign victims", "Escort and documents for returns"],
    "equipment": ["Surveillance equipment", "Vehicles for the directorate", "Forensic IT equipment"],
    "operations": ["Joint operation costs", "Informant and operational costs", "Travel, cross-border operations"],
    "financial": ["Financial investigation training", "Asset tracing database access"],
    "casesys": ["Case management software, milestone payment", "Hardware for the case management system",
                "Support and maintenance, case management system"],
    "witness": ["Witness transport and accommodation", "Video-link equipment rental"],
    "cyber": ["Cybercrime forensic workstations"],
    "office": ["Office supplies and communications", "Rent and utilities, coordinator's office"],
    "database": ["Database hosting and licences", "Database development, milestone payment",
                 "Data entry and quality checks"],
    "monitoring": ["Monitoring visits to municipalities", "Annual monitoring report, printing",
                   "Evaluation expert fees"],
    "guardianship": ["Guardianship allowances for child victims", "Fees of appointed guardians"],
    "municipal": ["Transfer to municipal coordination teams"],
    "regional": ["Regional meeting, travel and venue", "Joint working group with neighbouring police"],
    "reporting": ["Translation of the national report", "Country visit, logistics"],
    "memoranda": ["Consultation meetings with NGOs"],
}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def money(cents):
    """Integer cents -> plain decimal with exactly two fraction digits."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return "%s%d.%02d" % (sign, cents // 100, cents % 100)


def parse_money(text):
    neg = text.startswith("-")
    whole, frac = text.lstrip("-").split(".")
    v = int(whole) * 100 + int(frac)
    return -v if neg else v


def rand_date(a, b):
    return a + dt.timedelta(days=rng.randint(0, (b - a).days))


def write_csv(name, header, rows):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else str(v) for v in r])
    return len(rows)


def round100(x):
    return int(round(x / 100.0)) * 100


# --------------------------------------------------------------------------
# Budget lines
# --------------------------------------------------------------------------

def activity_years(act):
    return [y for y in YEARS if act[4] <= D(y, 12, 31) and act[5] >= D(y, 1, 1)]


budget_lines = []  # dicts
for act in ACTIVITIES:
    code, _t, _o, lead, start, end, status, templates = act
    for tpl in templates:
        years = [y for y in activity_years(act) if y in SOURCE_YEARS[tpl["source"]]]
        if tpl["years"]:
            years = [y for y in years if y in tpl["years"]]
        if tpl["amounts"]:
            years = [y for y in years if y in tpl["amounts"]]
        for i, y in enumerate(years):
            if tpl["amounts"]:
                amount = tpl["amounts"][y]
            else:
                amount = round100(tpl["base"] * tpl["growth"] ** i * rng.uniform(0.96, 1.04))
            budget_lines.append(dict(
                activity=code, lead=lead, source=tpl["source"], fy=y, category=tpl["category"],
                amount=amount * 100, currency=SOURCE_CCY[tpl["source"]],
                obligation=tpl["obligation"], payee=tpl["payee"], what=tpl["what"],
                window=(max(start, D(y, 1, 1)), min(end, D(y, 12, 31))),
            ))

budget_lines.sort(key=lambda b: (b["fy"], b["activity"], b["source"], b["category"]))
counter = defaultdict(int)
for b in budget_lines:
    counter[b["fy"]] += 1
    b["code"] = "BL-%d-%03d" % (b["fy"], counter[b["fy"]])


def find_line(activity, source, category, fy):
    hits = [b for b in budget_lines if (b["activity"], b["source"], b["category"], b["fy"]) ==
            (activity, source, category, fy)]
    assert len(hits) == 1, (activity, source, category, fy)
    return hits[0]


# --------------------------------------------------------------------------
# Disbursement dates
# --------------------------------------------------------------------------
# Each institution that leads activities gets a payment calendar per year:
# PAYMENTS_PER_YEAR dates spread evenly (with a little jitter), so it is paid
# at least every couple of months. Every budget line of its activities gets its
# minimum number of payments from that calendar; calendar dates still far from
# any payment go to the lines with the most money per payment. NATA's 2016
# calendar is the story's exception: one payment in January, then December.

PAYMENTS_PER_YEAR = 7


def is_nata_line(b):
    return b["lead"] == NATA


def calendar(year):
    out = []
    for i in range(PAYMENTS_PER_YEAR):
        day = int(round(365 * (i + 0.5) / PAYMENTS_PER_YEAR)) + rng.randint(-6, 6)
        out.append(D(year, 1, 1) + dt.timedelta(days=day))
    return out


by_inst_year = defaultdict(list)
for b in budget_lines:
    b["dates"] = []
    by_inst_year[(b["lead"], b["fy"])].append(b)

for (inst, year), lines in sorted(by_inst_year.items()):
    if inst == NATA and year == 2016:
        fixed = {"PART-02": [NATA_LAST_BEFORE, NATA_BACK_ON[1]], "PREV-03": [NATA_BACK_ON[0]]}
        for b in lines:
            b["dates"] = list(fixed[b["activity"]])
        continue
    free = calendar(year)
    # 1. every line gets its minimum number of payments: payroll three times a
    #    year, shelter subsidies in four instalments, other obligation-funded
    #    grants in two (the calendar dates closest to evenly spaced targets),
    #    anything else once (the calendar date farthest from those placed)
    def minimum(b):
        lo, hi = b["window"]
        k = 4 if b["what"] == "shelter" else 3 if b["category"] == "wages" else 2 if b["obligation"] else 1
        return max(1, min(k, (hi - lo).days // 60 + 1))

    used = []
    for b in sorted(lines, key=lambda b: (-minimum(b), (b["window"][1] - b["window"][0]).days, b["code"])):
        lo, hi = b["window"]
        k = minimum(b)
        for j in range(k):
            inside = [d for d in free if lo <= d <= hi]
            if k == 1 and inside:
                d = max(inside, key=lambda d: (min([abs((d - u).days) for u in used] or [999]), d))
                free.remove(d)
            elif k == 1:
                d = rand_date(lo, hi)
            else:
                target = lo + (hi - lo) * (j + 0.5) / k
                near = [d for d in inside if abs((d - target).days) <= 40]
                if near:
                    d = min(near, key=lambda d: abs((d - target).days))
                    free.remove(d)
                else:
                    d = min(hi, max(lo, target + dt.timedelta(days=rng.randint(-10, 10))))
            b["dates"].append(d)
            used.append(d)
    # 2. calendar dates not yet covered go to the lines with the most money per payment
    for d in free:
        used = [x for b in lines for x in b["dates"]]
        if any(abs((x - d).days) <= 34 for x in used):
            continue  # this part of the year already has a payment
        cands = [b for b in lines if b["window"][0] <= d <= b["window"][1]]
        if cands:
            best = max(cands, key=lambda b: (b["amount"] / (len(b["dates"]) + 1), b["code"]))
            best["dates"].append(d)

# --------------------------------------------------------------------------
# Disbursement amounts
# --------------------------------------------------------------------------

disbursements = []
for b in budget_lines:
    b["dates"].sort()
    amount = b["amount"]
    if b["obligation"] or b["what"] == "shelter":
        total = amount
    elif is_nata_line(b) and b["fy"] == 2016:
        total = int(amount * rng.uniform(0.38, 0.48))
    elif b["category"] == "wages":
        total = int(amount * rng.uniform(0.96, 1.0))
    elif b["category"] == "capital":
        total = int(amount * rng.uniform(0.90, 1.0))
    else:
        total = int(amount * rng.uniform(0.80, 0.99))
    if (b["activity"], b["source"], b["category"], b["fy"]) == OVERSPENT[:4]:
        total = amount + OVERSPENT[4]
    k = len(b["dates"])
    if b["category"] == "wages" or b["what"] in ("shelter", "helpline", "municipal"):
        weights = [1.0] * k
    else:
        weights = [rng.uniform(0.6, 1.4) for _ in range(k)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[-1] += total - sum(shares)
    for d, s in zip(b["dates"], shares):
        if b["category"] == "wages":
            desc = "Staff costs, payroll transfer of %s %d" % (MONTHS[d.month - 1], d.year)
        elif b["what"] == "shelter":
            desc = "Shelter operating subsidy %d, instalment %d of %d" % (d.year, b["dates"].index(d) + 1, k)
        else:
            desc = rng.choice(WHAT_TEXT[b["what"]])
        payee = b["payee"]
        if payee is None:
            payee = "" if b["category"] == "wages" else b["lead"]
        disbursements.append(dict(line=b, date=d, amount=s, payee=payee, desc=desc, reverses=""))

# A quoted description and one starting with a hyphen (import must keep them verbatim).
first_campaign = min((x for x in disbursements if x["line"]["activity"] == "PREV-01"
                      and x["line"]["source"] == "SB"), key=lambda x: x["date"])
first_campaign["desc"] = 'Printing of "Know your rights" leaflets, 20,000 copies'
last_media = max((x for x in disbursements if x["line"]["activity"] == "PREV-07"), key=lambda x: x["date"])
last_media["desc"] = "- final instalment, media guidelines contract"

# Reversal 1: a shelter instalment entered twice, the duplicate reversed in full.
dup_line = find_line(*DUPLICATE)
orig = min((x for x in disbursements if x["line"] is dup_line), key=lambda x: x["date"])
duplicate = dict(orig, date=orig["date"] + dt.timedelta(days=3))
reversal_full = dict(orig, date=orig["date"] + dt.timedelta(days=17), amount=-orig["amount"],
                     reverses=duplicate, desc=None)
disbursements += [duplicate, reversal_full]

# Reversal 2: part of a USD training advance refunded.
par_line = find_line(*PARTIAL)
orig2 = min((x for x in disbursements if x["line"] is par_line), key=lambda x: x["date"])
refund = round100(orig2["amount"] / 100 * 0.22) * 100
orig2["desc"] = "Training advance, prosecutors' study visit"
reversal_part = dict(orig2, date=orig2["date"] + dt.timedelta(days=41), amount=-refund,
                     reverses=orig2, desc="Partial reversal: unspent training advance refunded")
assert reversal_part["date"] <= par_line["window"][1]
disbursements.append(reversal_part)

# --------------------------------------------------------------------------
# Red flags: one of each integrity rule, all seen as of the plan's last day
# (documented in README.md). Nothing here draws a random number, so every
# other record stays as it was.
# --------------------------------------------------------------------------

# Lines paid once late in the year are paid by 30 November, so that the one
# December rush below is the year-end spike of its year. NATA's December
# catch-up of 2016 stays: it is the story's.
for b in budget_lines:
    if is_nata_line(b) and b["fy"] == 2016:
        continue
    mine = [x for x in disbursements if x["line"] is b and x["amount"] > 0]
    december = [x for x in mine if x["date"].month == 12]
    cutoff = D(b["fy"], 11, 30)
    if december and b["window"][0] <= cutoff and \
            sum(x["amount"] for x in december) * 10 > sum(x["amount"] for x in mine) * 4:
        for x in december:
            x["date"] = cutoff

# DUPLICATE_PAYMENT: the printing contractor's invoice for campaign leaflets is
# paid twice, three days apart, out of the campaign's 2019 line.
dup_print = find_line(*RED_DUPLICATE[:4])
campaign = max((x for x in disbursements if x["line"] is dup_print), key=lambda x: x["amount"])
assert campaign["amount"] > 2 * RED_DUPLICATE[4]
campaign["amount"] -= 2 * RED_DUPLICATE[4]
for day in RED_DUPLICATE[5]:
    disbursements.append(dict(line=dup_print, date=day, amount=RED_DUPLICATE[4], payee="PRINTCO",
                              desc="Printing of campaign leaflets, invoice 2019/118", reverses=""))

# SPLIT_PAYMENTS: the catering of one regional seminar for judges is paid in
# three invoices, each just under the review threshold of 10,000.00.
split_line = find_line(*RED_SPLIT[:4])
split_line["amount"] += sum(a for _, a in RED_SPLIT[4])
for day, amount in RED_SPLIT[4]:
    disbursements.append(dict(line=split_line, date=day, amount=amount, payee="CATERCO",
                              desc="Catering, regional seminar for judges", reverses=""))

# PAYMENT_OUTSIDE_ACTIVITY: part of the case management system's 2018 money is
# paid to the IT supplier weeks after the activity ended on 2018-12-31.
late_line = find_line(*RED_LATE[:4])
late_from = max((x for x in disbursements if x["line"] is late_line), key=lambda x: x["amount"])
assert late_from["amount"] > RED_LATE[5]
late_from["amount"] -= RED_LATE[5]
disbursements.append(dict(line=late_line, date=RED_LATE[4], amount=RED_LATE[5], payee="ITSOL",
                          desc="Support and maintenance, case management system", reverses=""))

# YEAR_END_SPIKE: the judges' training line of 2018 pays 55% of its money in
# two instalments in the year's final fortnight (its other payments keep their
# dates, smaller).
rush_line = find_line(*RED_RUSH[:4])
rush = [x for x in disbursements if x["line"] is rush_line]
total = sum(x["amount"] for x in rush)
kept = total * 45 // 100
for x in rush:
    x["amount"] = x["amount"] * 45 // 100
rush[-1]["amount"] += kept - sum(x["amount"] for x in rush)
late_parts = [(total - kept) // 2, total - kept - (total - kept) // 2]
for day, amount in zip(RED_RUSH[4], late_parts):
    disbursements.append(dict(rush[-1], date=day, amount=amount,
                              desc="Training of judges, December seminars"))

disbursements.sort(key=lambda x: (x["date"], x["line"]["code"], -x["amount"]))
seq = defaultdict(int)
for x in disbursements:
    seq[x["date"].year] += 1
    x["ref"] = "D-%d-%04d" % (x["date"].year, seq[x["date"].year])
reversal_full["desc"] = "Reversal of %s: duplicate entry" % duplicate["ref"]

# --------------------------------------------------------------------------
# Commitments
# --------------------------------------------------------------------------

def disbursed_between(activity, source, a, z):
    return sum(x["amount"] for x in disbursements
               if x["line"]["activity"] == activity and x["line"]["source"] == source
               and a <= x["date"] <= z)


def allocated(activity, source, years):
    return sum(b["amount"] for b in budget_lines
               if b["activity"] == activity and b["source"] == source and b["fy"] in years)


# (source, activity, date, due_date, kind) kind: honoured | overdue | open
COMMITMENT_SPECS = [
    ("PG-2015", "PREV-01", D(2015, 3, 2), D(2016, 6, 30), "overdue"),
    ("PG-2015", "PREV-06", D(2015, 4, 1), D(2017, 12, 31), "honoured"),
    ("PG-2015", "PROT-01", D(2015, 3, 2), D(2017, 12, 31), "honoured"),
    ("PG-2015", "PROS-01", D(2015, 3, 2), D(2015, 12, 31), "honoured"),
    ("PG-2015", "PROS-02", D(2015, 3, 2), D(2017, 12, 31), "honoured"),
    ("PG-2015", "PROS-04", D(2015, 3, 2), D(2017, 12, 31), "honoured"),
    ("UN-2015", "PROT-02", D(2015, 2, 2), D(2015, 12, 31), "honoured"),
    ("UN-2015", "PROT-04", D(2015, 2, 2), D(2019, 12, 31), "honoured"),
    ("UN-2015", "PROT-05", D(2015, 2, 2), D(2019, 12, 31), "honoured"),
    ("UN-2015", "PROT-09", D(2015, 2, 2), D(2019, 12, 31), "honoured"),
    ("UN-2015", "PROT-11", D(2015, 2, 2), D(2017, 12, 31), "overdue"),
    ("UN-2015", "PREV-08", D(2015, 2, 2), D(2019, 12, 31), "honoured"),
    ("EU-2016", "PREV-02", D(2016, 2, 15), D(2019, 12, 31), "honoured"),
    ("EU-2016", "PROT-03", D(2016, 2, 15), D(2018, 6, 30), "honoured"),
    ("EU-2016", "PROT-08", D(2016, 2, 15), D(2017, 12, 31), "overdue"),
    ("EU-2016", "PROS-03", D(2016, 2, 15), D(2019, 12, 31), "honoured"),
    ("EU-2016", "PROS-05", D(2016, 2, 15), D(2019, 12, 31), "honoured"),
    ("EU-2016", "PROS-06", D(2016, 2, 15), D(2018, 12, 31), "honoured"),
    ("EU-2016", "PART-03", D(2016, 2, 15), D(2019, 12, 31), "honoured"),
    ("EU-2016", "PART-05", D(2016, 2, 15), None, "open"),
    ("PG-2018", "PROS-02", D(2018, 1, 15), D(2019, 12, 31), "honoured"),
    ("PG-2018", "PROT-07", D(2018, 1, 15), None, "open"),
    ("SB", "PROS-01", D(2015, 2, 10), D(2015, 12, 31), "honoured"),
    ("SB", "PREV-01", D(2015, 3, 5), None, "open"),
    ("SB", "PART-02", D(2016, 1, 5), D(2016, 6, 30), "overdue"),
    ("SB", "PROS-06", D(2017, 1, 20), D(2018, 12, 31), "honoured"),
] + [("SB", act, D(y, 1, 8), D(y, 12, 31), "honoured") for y in YEARS for act in ("PROT-04", "PROT-05")]

commitments = []
for source, activity, date, due, kind in COMMITMENT_SPECS:
    yrs = [y for y in YEARS if date.year <= y <= (due or PLAN_END).year]
    alloc = allocated(activity, source, yrs)
    paid = disbursed_between(activity, source, date, due or PLAN_END)
    if kind == "overdue":
        amount = alloc
        if activity == "PART-02":   # the database upgrade contract NATA never started on
            amount = 1800000
    elif kind == "open":
        amount = alloc
    elif activity in ("PROT-04", "PROT-05") and source == "SB":
        amount = alloc            # annual shelter contracts, paid in full
    else:
        amount = (paid // 10000) * 10000
    assert amount > 0, (source, activity)
    commitments.append(dict(source=source, activity=activity, date=date, due=due,
                            amount=amount, currency=SOURCE_CCY[source], kind=kind))
commitments.sort(key=lambda c: (c["date"], c["source"], c["activity"]))
seq = defaultdict(int)
for c in commitments:
    seq[c["date"].year] += 1
    c["ref"] = "C-%d-%03d" % (c["date"].year, seq[c["date"].year])

# --------------------------------------------------------------------------
# Exchange rates: USD -> EUR, twice a month (invented path)
# --------------------------------------------------------------------------

ANCHORS = [(D(2015, 1, 1), 0.8350), (D(2015, 3, 15), 0.9350), (D(2015, 8, 1), 0.9010),
           (D(2015, 12, 1), 0.9440), (D(2016, 5, 1), 0.8750), (D(2016, 12, 20), 0.9490),
           (D(2017, 6, 1), 0.8920), (D(2017, 9, 1), 0.8380), (D(2018, 2, 1), 0.8160),
           (D(2018, 6, 1), 0.8570), (D(2018, 12, 1), 0.8810), (D(2019, 5, 1), 0.8930),
           (D(2019, 10, 1), 0.9130), (D(2019, 12, 31), 0.8990)]


def anchor_rate(d):
    for (d0, r0), (d1, r1) in zip(ANCHORS, ANCHORS[1:]):
        if d0 <= d <= d1:
            return r0 + (r1 - r0) * (d - d0).days / (d1 - d0).days
    raise ValueError(d)


rate_dates = [D(y, m, day) for y in YEARS for m in range(1, 13) for day in (1, 15)] + [PLAN_END]
rates = []
for d in rate_dates:
    r = anchor_rate(d) + (rng.uniform(-0.006, 0.006) if d not in (PLAN_START, PLAN_END) else 0)
    rates.append((d, "%.4f" % r))

# --------------------------------------------------------------------------
# Write the files
# --------------------------------------------------------------------------

HEADERS = {
    "institutions.csv": ["code", "name", "kind", "iati_ref"],
    "funding_sources.csv": ["code", "name", "donor_code", "kind", "currency"],
    "plans.csv": ["code", "title", "country", "currency", "start_date", "end_date", "fiscal_year_start_month"],
    "objectives.csv": ["plan_code", "code", "title", "parent_code"],
    "activities.csv": ["plan_code", "code", "title", "objective_code", "lead_institution_code",
                       "start_date", "end_date", "status", "sector_code"],
    "obligations.csv": ["plan_code", "code", "title", "legal_basis", "institution_code", "activity_code",
                        "in_force_from", "annual_minimum", "currency"],
    "budget_lines.csv": ["plan_code", "code", "activity_code", "funding_source_code", "fiscal_year",
                         "category", "amount", "currency", "obligation_code"],
    "commitments.csv": ["plan_code", "reference", "funding_source_code", "activity_code", "date",
                        "due_date", "amount", "currency"],
    "disbursements.csv": ["plan_code", "reference", "budget_line_code", "date", "amount", "currency",
                          "payee_code", "description", "reverses"],
    "exchange_rates.csv": ["date", "currency", "quote_currency", "rate"],
}

counts = {}
counts["institutions.csv"] = write_csv("institutions.csv", HEADERS["institutions.csv"], INSTITUTIONS)
counts["funding_sources.csv"] = write_csv("funding_sources.csv", HEADERS["funding_sources.csv"],
                                          [s[:5] for s in FUNDING_SOURCES])
counts["plans.csv"] = write_csv("plans.csv", HEADERS["plans.csv"], [
    (PLAN, "National Action Plan against Trafficking in Human Beings 2015-2019", "XK", "EUR",
     PLAN_START, PLAN_END, 1)])
counts["objectives.csv"] = write_csv("objectives.csv", HEADERS["objectives.csv"],
                                     [(PLAN,) + o for o in OBJECTIVES])
counts["activities.csv"] = write_csv("activities.csv", HEADERS["activities.csv"],
                                     [(PLAN,) + a[:7] + (SECTORS[a[0]],) for a in ACTIVITIES])
counts["obligations.csv"] = write_csv("obligations.csv", HEADERS["obligations.csv"],
                                      [(PLAN,) + o for o in OBLIGATIONS])
counts["budget_lines.csv"] = write_csv("budget_lines.csv", HEADERS["budget_lines.csv"], [
    (PLAN, b["code"], b["activity"], b["source"], b["fy"], b["category"], money(b["amount"]),
     b["currency"], b["obligation"]) for b in budget_lines])
counts["commitments.csv"] = write_csv("commitments.csv", HEADERS["commitments.csv"], [
    (PLAN, c["ref"], c["source"], c["activity"], c["date"], c["due"] or "", money(c["amount"]),
     c["currency"]) for c in commitments])
counts["disbursements.csv"] = write_csv("disbursements.csv", HEADERS["disbursements.csv"], [
    (PLAN, x["ref"], x["line"]["code"], x["date"], money(x["amount"]), x["line"]["currency"],
     x["payee"], x["desc"], x["reverses"]["ref"] if x["reverses"] else "") for x in disbursements])
counts["exchange_rates.csv"] = write_csv("exchange_rates.csv", HEADERS["exchange_rates.csv"],
                                         [(d, "USD", "EUR", r) for d, r in rates])


# --------------------------------------------------------------------------
# Story checks: read the files back and verify that they tell README.md's story
# --------------------------------------------------------------------------
# Whether the files are valid (their format, keys, references, codes, dates and
# amounts, the rules of reversals) is for the importer to judge, not this script:
# the test suite imports this folder through naptrack itself and requires that
# every row loads. What is checked here is what the importer cannot know: that
# the data tells the story README.md describes.

class CheckFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


pdate = dt.date.fromisoformat


def check_story():
    F = {n: read(n) for n in HEADERS}
    src = {r["code"]: r for r in F["funding_sources.csv"]}
    plans = {r["code"]: r for r in F["plans.csv"]}
    acts = {r["code"]: r for r in F["activities.csv"]}
    obls = {r["code"]: r for r in F["obligations.csv"]}
    bls = {r["code"]: r for r in F["budget_lines.csv"]}
    coms = {r["reference"]: r for r in F["commitments.csv"]}
    dis = {r["reference"]: r for r in F["disbursements.csv"]}

    for r in src.values():
        check((r["kind"] == "donor_grant") == (r["donor_code"] != ""), "donor_code only on grants")
    usd_grants = {r["donor_code"] for r in src.values() if r["kind"] == "donor_grant" and r["currency"] == "USD"}
    check({"PGATO", "UNMA"} <= usd_grants, "USD grants from the partner government and the UN agency")

    plan = plans[PLAN]
    pe = pdate(plan["end_date"])
    check(plan["country"] == "XK" and plan["currency"] == "EUR" and plan["fiscal_year_start_month"] == "1",
          "plan header")

    for r in acts.values():
        if r["status"] == "ongoing":
            check(pdate(r["end_date"]) >= D(2016, 12, 31), "ongoing activity must run through 2016 " + r["code"])
    check(35 <= len(acts) <= 45, "about 40 activities")

    alloc = defaultdict(int)
    for r in bls.values():
        check(r["currency"] == src[r["funding_source_code"]]["currency"], "budget line currency " + r["code"])
        fy = int(r["fiscal_year"])
        a = acts[r["activity_code"]]
        check(a["start_date"] <= "%d-12-31" % fy and a["end_date"] >= "%d-01-01" % fy,
              "budget line year outside its activity " + r["code"])
        if r["obligation_code"]:
            check(r["currency"] == obls[r["obligation_code"]]["currency"], "obligation currency")
            alloc[(r["obligation_code"], fy)] += parse_money(r["amount"])
    check(150 <= len(bls) <= 250, "150-250 budget lines, got %d" % len(bls))

    # Obligations: VCF unfunded every year; the others funded, HELPLINE short in 2017.
    underfunded = []
    for o in obls.values():
        for fy in YEARS:
            got = alloc.get((o["code"], fy), 0)
            if o["code"] == VCF:
                check(got == 0, "VCF must have no budget line")
            elif got < parse_money(o["annual_minimum"]):
                underfunded.append((o["code"], fy))
    check(underfunded == [("HELPLINE", 2017)], "underfunded obligations: %s" % underfunded)

    # Shelter funding rises year on year, for each shelter.
    for act_code in ("PROT-04", "PROT-05"):
        series = [sum(parse_money(r["amount"]) for r in bls.values()
                      if r["activity_code"] == act_code and r["funding_source_code"] == "SB"
                      and int(r["fiscal_year"]) == fy) for fy in YEARS]
        check(all(x < y for x, y in zip(series, series[1:])), "shelter funding must rise " + act_code)

    # Commitments.
    for r in coms.values():
        check(r["currency"] == src[r["funding_source_code"]]["currency"], "commitment currency " + r["reference"])
        check(plan["start_date"] <= r["date"] <= plan["end_date"], "commitment date in plan")

    # Disbursements.
    paid = defaultdict(int)
    reversed_refs = set()
    for r in dis.values():
        ref = r["reference"]
        bl = bls[r["budget_line_code"]]
        d = pdate(r["date"])
        late = (bl["activity_code"], int(bl["fiscal_year"]), d) == (RED_LATE[0], RED_LATE[3], RED_LATE[4])
        check((d.year == int(bl["fiscal_year"]) or late) and d <= pe,
              "disbursement date in the line's year (but the deliberate late payment) " + ref)
        a = acts[bl["activity_code"]]
        check(a["start_date"] <= r["date"] <= a["end_date"] or late,
              "disbursement within its activity dates (but the deliberate late payment) " + ref)
        if r["reverses"]:
            check(r["reverses"] not in reversed_refs, "reversed twice " + r["reverses"])
            reversed_refs.add(r["reverses"])
        paid[r["budget_line_code"]] += parse_money(r["amount"])
    check(1 <= len(reversed_refs) <= 2, "one or two reversals")
    for c, b in bls.items():
        if b["obligation_code"]:
            first = min(r["date"] for r in dis.values() if r["budget_line_code"] == c)
            check(first <= "%s-06-30" % b["fiscal_year"], "obligation line paid before mid-year " + c)
    check(300 <= len(dis) <= 400, "300-400 disbursements, got %d" % len(dis))
    over = sorted(c for c in bls if paid[c] > parse_money(bls[c]["amount"]))
    overspent_code = find_line(*OVERSPENT[:4])["code"]
    check(over == [overspent_code], "only the deliberate line is overspent: %s" % over)
    check(any("," in r["description"] for r in dis.values()), "a description with a comma")
    check(any(r["description"].startswith("-") for r in dis.values()), "a description with a leading hyphen")
    check(any('"' in r["description"] for r in dis.values()), "a description with a double quote")

    # Institution activity timelines.
    def timeline(code):
        led = {c for c, a in acts.items() if a["lead_institution_code"] == code}
        return sorted(pdate(r["date"]) for r in dis.values()
                      if bls[r["budget_line_code"]]["activity_code"] in led or r["payee_code"] == code)

    nata_led_ongoing = [c for c, a in acts.items() if a["lead_institution_code"] == NATA and a["status"] == "ongoing"]
    check(nata_led_ongoing, "NATA leads an ongoing activity")
    nata_dates = timeline(NATA)
    check(not [d for d in nata_dates if NATA_QUIET_FROM <= d <= NATA_QUIET_TO], "NATA paid in its quiet window")

    leads = sorted({a["lead_institution_code"] for a in acts.values() if a["status"] == "ongoing"})
    inactive = defaultdict(list)
    as_of_dates = [D(y, m, 1) - dt.timedelta(days=1) for y in YEARS for m in range(1, 13)][6:] + [PLAN_END]
    for code in leads:
        tl = timeline(code)
        for as_of in as_of_dates:
            last = max((d for d in tl if d <= as_of), default=None)
            if last is None or (as_of - last).days > INACTIVE_DAYS:
                inactive[code].append(as_of)
        if code != NATA:
            full = [PLAN_START] + tl + [PLAN_END]
            gaps = [(q - p).days for p, q in zip(full, full[1:])]
            check(max(gaps) <= MAX_GAP_DAYS, "%s has a %d-day gap" % (code, max(gaps)))
    check(list(inactive) == [NATA], "only NATA may be inactive: %s" % dict(inactive))
    check(D(2016, 9, 30) in inactive[NATA], "NATA inactive as of 2016-09-30")
    check(all(d.year == 2016 for d in inactive[NATA]), "NATA inactive only in 2016")

    # Commitments overdue (the contract's rule) as of two dates.
    def overdue(as_of):
        out = []
        for r in coms.values():
            if not r["due_date"] or r["due_date"] >= as_of.isoformat():
                continue
            got = sum(parse_money(x["amount"]) for x in dis.values()
                      if bls[x["budget_line_code"]]["activity_code"] == r["activity_code"]
                      and bls[x["budget_line_code"]]["funding_source_code"] == r["funding_source_code"]
                      and r["date"] <= x["date"] <= as_of.isoformat())
            if got < parse_money(r["amount"]):
                out.append(r["reference"])
        return sorted(out)

    unfunded_acts = defaultdict(list)
    for c, a in acts.items():
        if a["status"] not in ("planned", "ongoing"):
            continue
        for fy in YEARS:
            if a["start_date"] <= "%d-12-31" % fy and a["end_date"] >= "%d-01-01" % fy:
                if not any(b["activity_code"] == c and int(b["fiscal_year"]) == fy for b in bls.values()):
                    unfunded_acts[fy].append(c)

    expected = {fy: ["PROT-10"] for fy in YEARS}
    expected[2019] = ["PART-09", "PREV-09", "PROS-09", "PROT-10"]
    check({fy: sorted(v) for fy, v in unfunded_acts.items()} == expected,
          "unfunded planned/ongoing activities: %s" % dict(unfunded_acts))

    return dict(inactive=inactive, overdue_2016=overdue(D(2016, 9, 30)), overdue_2019=overdue(PLAN_END),
                overspent=overspent_code, unfunded_acts=dict(unfunded_acts), nata_dates=nata_dates)


if __name__ == "__main__":
    try:
        info = check_story()
    except CheckFailed as e:
        print("SELF-CHECK FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
    for n in HEADERS:
        print("%-22s %4d rows" % (n, counts[n]))
    print("reversals: %s" % ", ".join("%s reverses %s (%s)" % (x["ref"], x["reverses"]["ref"], money(x["amount"]))
                                       for x in disbursements if x["reverses"]))
    print("overspent line: %s" % info["overspent"])
    nd = info["nata_dates"]
    print("NATA payments around the gap: last %s, next %s" % (
        max(d for d in nd if d < NATA_QUIET_FROM), min(d for d in nd if d > NATA_QUIET_TO)))
    print("NATA inactive (180 days) at month-ends: %s .. %s" % (
        info["inactive"][NATA][0], info["inactive"][NATA][-1]))
    print("commitments overdue as of 2016-09-30: %s" % ", ".join(info["overdue_2016"]))
    print("commitments overdue as of 2019-12-31: %s" % ", ".join(info["overdue_2019"]))
    print("planned/ongoing activities without a budget line: %s" % info["unfunded_acts"])
    print("story checks passed")
