"""Write the bundled sample articles: invented news from invented providers, in the seed format.

    python seeds/make_samples.py            # (re)write seeds/ in place
    python seeds/make_samples.py --out DIR  # write elsewhere

Standard library only and deterministic: one seeded ``random.Random`` and a fixed "now"
(``ANCHOR``), so every run writes the same bytes. Every provider domain ends in ``.sample``; no
text comes from real news. Files are ``<batch>_<h>.txt``: ``batch`` = 1 + index // 100 (three
digits), ``h`` = the first 16 hex digits of sha1(webUrl), as in the corpus naming.

Batch ``000`` is never written nor removed here: ``000_e08b7012a3019e8c.txt`` is the project's
reference sample of the format and is kept byte for byte wherever it exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20261127
COUNT = 240
BATCH_SIZE = 100
ANCHOR = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
"""The samples' "now": the newest articles are a few hours older than this."""
OLDEST = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
GENERATED_NAME = re.compile(r"^(\d{3})_[0-9a-f]{16}\.txt$")
RESERVED_BATCH = "000"

# (name, domain, share, beats): beats limit a specialist to some topics; () means every topic
PROVIDERS: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("Northwind Gazette", "northwind-gazette.sample", 30, ()),
    ("Harbor Daily", "harbor-daily.sample", 20, ()),
    ("The Meridian Ledger", "meridian-ledger.sample", 14, ("Business", "Politics", "World")),
    ("Alpine Wire", "alpine-wire.sample", 12, ()),
    ("Civic Pulse", "civic-pulse.sample", 12, ("Politics", "Education", "Health", "Climate")),
    ("Lantern Science Review", "lantern-science.sample", 14, ("Science", "Technology", "Health")),
    ("Quayside Sports Desk", "quayside-sports.sample", 25, ("Sports",)),
    ("Coastal Radio News", "coastal-radio.sample", 3, ()),
]

# topic → (share, topics it is often filed with)
TOPICS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Politics": (16, ("World", "Business", "Climate", "Education")),
    "Business": (15, ("Technology", "Politics", "World")),
    "Technology": (12, ("Business", "Science", "Education")),
    "Science": (10, ("Climate", "Health", "Technology")),
    "Sports": (12, ("Health", "Culture")),
    "Health": (8, ("Science", "Politics")),
    "Climate": (9, ("Science", "Politics", "World")),
    "Culture": (8, ("Education", "Business")),
    "World": (6, ("Politics", "Climate", "Business")),
    "Education": (4, ("Politics", "Technology", "Culture")),
}

PLACES = [
    "Harbor City", "Northbridge", "Lakeside", "Eastmoor", "Port Alder", "Riverton", "Glenmore",
    "Westfield Bay", "Cedar Falls", "Maple Junction", "Stillwater", "Brackenridge",
]  # fmt: skip
ACCENTED_PLACES = ["Zürich", "São Paulo", "Kraków", "Montréal"]

# fmt: off
WORDS: dict[str, list[str]] = {
    "region": [
        "the northern valleys", "the coastal provinces", "the eastern highlands",
        "the river delta", "the southern plains",
    ],
    "plan": [
        "new tram line", "housing plan", "parking reform", "harbor redevelopment",
        "night bus network", "cycle lane expansion", "library funding", "waste collection overhaul",
        "riverside park", "rent cap",
    ],
    "company": [
        "Bluefin Logistics", "Copperleaf Foods", "Stonegate Bank", "Aurora Textiles",
        "Kestrel Airways", "Pinecrest Energy", "Halcyon Motors", "Marigold Retail",
    ],
    "event": [
        "a surprise profit warning", "a strong holiday season", "a boardroom reshuffle",
        "a new supply contract", "a cyberattack on its payment systems",
    ],
    "institute": [
        "the Eastmoor Institute of Marine Biology", "Glenmore University", "Riverton Polytechnic",
        "the Cedar Falls Soil Laboratory",
    ],
    "thing": [
        "deep-sea coral reefs", "ancient river channels", "bat migration routes",
        "soil microbes under city parks", "the sound of glaciers",
    ],
    "finding": [
        "a new species of freshwater crab", "a faster way to recycle lithium",
        "a frost-resistant wheat variety", "evidence of a lost medieval harbor",
        "bees that navigate by polarised light",
    ],
    "astro": ["a comet with two tails", "a fading red giant", "a cluster of young stars"],
    "device": [
        "foldable e-reader", "solar-powered router", "low-cost satellite modem",
        "repairable laptop", "pocket air-quality sensor",
    ],
    "service": [
        "free public Wi-Fi", "digital library cards", "contactless tram tickets",
        "an online permit office", "a city-wide flood alert app",
    ],
    "tech": ["battery recycling", "speech translation", "drone deliveries", "heat pumps"],
    "facility": [
        "a children's emergency ward", "a night clinic", "a cancer screening centre",
        "a walk-in mental health service",
    ],
    "program": [
        "free dental checks for children", "home visits for older residents",
        "its vaccination campaign", "school breakfast clubs",
    ],
    "habit": ["a daily walk", "an early dinner", "reading before bed", "gardening"],
    "weather": [
        "its warmest November night", "rainfall in a single day", "the longest dry spell",
        "its coldest spring morning",
    ],
    "team": [
        "Harbor City Herons", "Northbridge Rovers", "Lakeside Lynx", "Eastmoor Eagles",
        "Port Alder Pilots", "Riverton Rangers",
    ],
    "competition": ["the league", "the cup quarter-final", "the regional derby", "the final"],
    "sportevent": [
        "the rowing championships", "a cycling stage finish", "the junior athletics games",
    ],
    "subject": [
        "lighthouse keepers", "the city's lost rivers", "wartime radio", "harbor workers",
        "the first electric trams", "women in early aviation",
    ],
    "prize": [
        "the Lantern Book Prize", "the Meridian Award for Fiction", "a regional poetry prize",
    ],
    "issue": ["fishing rights", "river pollution", "rail freight", "a shared power grid"],
    "agreement": ["a water-sharing pact", "a rail freight deal", "a student exchange treaty"],
    "idea": ["a four-day week", "later start times", "phone-free classrooms", "outdoor lessons"],
    "university": ["Glenmore University", "Riverton Polytechnic", "the Open College of the Coast"],
    "edu_issue": ["class sizes", "a new pay offer", "the exam timetable"],
    "direction": ["higher", "lower", "record", "flat"],
    "move": ["jump", "slide", "recover"],
    "trend": ["rises", "falls"],
    "ordinal": ["second", "third", "fourth", "sixth"],
    "score": ["2-1", "3-0", "1-0", "4-2", "2-2"],
}
# fmt: on

NUMBERS: dict[str, Callable[[random.Random], int]] = {
    "n": lambda rng: rng.randint(2, 12),
    "hours": lambda rng: rng.randint(2, 30),
    "count": lambda rng: rng.choice([120, 250, 400, 800, 1500, 3000, 12000]),
    "millions": lambda rng: rng.choice([4, 12, 35, 80, 150, 420]),
    "percent": lambda rng: rng.randint(3, 40),
}


@dataclass(frozen=True)
class TopicText:
    stories: list[tuple[str, str]]  # (title, lead sentence of the excerpt)
    follows: list[str]  # an optional second sentence of the excerpt
    paragraphs: list[str]  # body paragraphs


TEXTS: dict[str, TopicText] = {
    "Politics": TopicText(
        stories=[
            (
                "{place} city council approves {plan}",
                "Councillors in {place} voted for the {plan} after {hours} hours of debate.",
            ),
            (
                "{place} council delays vote on {plan}",
                "The {plan} for {place} has divided residents since it was first proposed.",
            ),
            (
                "Mayor of {place} defends {plan} after heated debate",
                "The mayor said the {plan} would be paid for without raising local taxes.",
            ),
            (
                "Regional assembly rejects {plan} for {place} by narrow margin",
                "A majority of members voted against the {plan}, sending it back to {place}.",
            ),
            (
                "Opposition in {place} calls for review of {plan}",
                "Opposition councillors in {place} say the cost of the {plan} has doubled.",
            ),
        ],
        follows=[
            "Supporters say it will ease congestion; critics worry about the cost.",
            "A public consultation runs until the end of the month.",
            "The decision can still be challenged in court.",
        ],
        paragraphs=[
            "Several members abstained, citing missing cost estimates.",
            "Residents' groups said they had not been consulted early enough.",
            "Work could begin next spring if funding is confirmed.",
            "The full minutes of the meeting will be published next week.",
        ],
    ),
    "Business": TopicText(
        stories=[
            (
                "{company} reports {direction} quarterly profit",
                "{company} said demand in {place} shaped its results for the quarter.",
            ),
            (
                "{company} to open {n} new offices in {place}",
                "{company} said the offices in {place} would open over the next two years.",
            ),
            (
                "{place} port traffic {trend} for {ordinal} month",
                "Freight volumes through {place} changed by {percent} percent on the year.",
            ),
            (
                "Shares in {company} {move} after {event}",
                "Shares in {company} moved sharply in early trading after {event}.",
            ),
            (
                "{company} agrees to buy a rival for {millions} million",
                "{company} said the deal would give it a stronger position in {place}.",
            ),
            (
                "Coffee chain expands across {place} despite rising rents",
                "The chain plans {n} more cafés in {place} by the end of next year.",
            ),
        ],
        follows=[
            "The company plans to hire around {count} people over the next year.",
            "Investors are watching energy costs closely.",
            "Management repeated its forecast for the full year.",
        ],
        paragraphs=[
            "The board proposed a slightly higher dividend.",
            "Suppliers in {place} welcomed the news but warned of longer delivery times.",
            "The company did not comment on reports of further acquisitions.",
            "Trade unions asked for talks on working conditions.",
        ],
    ),
    "Technology": TopicText(
        stories=[
            (
                "{company} unveils {device}",
                "{company} says its new {device} is aimed at schools and small offices.",
            ),
            (
                "{place} rolls out {service}",
                "The launch follows a pilot in {place} with about {count} users.",
            ),
            (
                "Outage takes {service} in {place} offline for {hours} hours",
                "Engineers traced the outage in {place} to a faulty software update.",
            ),
            (
                "Startup in {place} raises {millions} million for {tech}",
                "The {place} startup, founded {n} years ago, employs about {count} people.",
            ),
            (
                "Hackathon in {place} builds tools for {tech}",
                "More than {count} developers spent the weekend in {place} working on {tech}.",
            ),
        ],
        follows=[
            "Privacy groups asked how user data will be stored.",
            "A wider rollout is planned for next year.",
            "Competitors are expected to respond soon.",
        ],
        paragraphs=[
            "The company said the design can be repaired with standard tools.",
            "Local libraries will lend devices to residents free of charge.",
            "Developers in {place} said demand for {tech} skills keeps growing.",
            "The source code will be published under an open licence.",
        ],
    ),
    "Science": TopicText(
        stories=[
            (
                "Researchers in {place} map {thing}",
                "Researchers used sensors placed across {place} to map {thing}.",
            ),
            (
                "{institute} team finds {finding}",
                "The team at {institute} reported {finding} after a {n}-year study.",
            ),
            (
                "Telescope at Northbridge Observatory spots {astro}",
                "Astronomers at Northbridge Observatory spotted {astro} during a routine survey.",
            ),
            (
                "Study of {thing} surprises scientists in {place}",
                "Scientists in {place} say {thing} behave differently from what models predict.",
            ),
        ],
        follows=[
            "Other researchers called the work promising but preliminary.",
            "The data will be shared openly with other laboratories.",
            "Further field work is planned for next summer.",
        ],
        paragraphs=[
            "Volunteers helped collect samples over {n} seasons.",
            "The researchers cautioned that the sample size was small.",
            "Funding for the next phase has not yet been secured.",
            "Schools in {place} will use the results in science lessons.",
        ],
    ),
    "Sports": TopicText(
        stories=[
            (
                "{team} beat {team2} {score} in {competition}",
                "A second-half comeback sealed the win for {team} in front of a full stadium.",
            ),
            (
                "{team} coach resigns after {n} straight defeats",
                "{team} confirmed the coach's departure in a short statement.",
            ),
            (
                "{place} to host {sportevent} next summer",
                "Organisers in {place} expect thousands of visitors for {sportevent}.",
            ),
            (
                "Marathon in {place} draws record field of {count} runners",
                "Runners from {n} countries took part in the {place} marathon.",
            ),
            (
                "Late goal keeps {team} top of the table",
                "{team} scored in the final minute to stay top of the table.",
            ),
        ],
        follows=[
            "Tickets for the next home game sold out within hours.",
            "The captain thanked the fans for their support.",
            "Road closures will be announced nearer the date.",
        ],
        paragraphs=[
            "The home side dominated possession but struggled to finish chances.",
            "Volunteers are still needed on the day.",
            "The next fixture is away in {place} in two weeks.",
            "Local clubs hope the event will bring in new members.",
        ],
    ),
    "Health": TopicText(
        stories=[
            (
                "{place} hospital opens {facility}",
                "Doctors say {facility} will shorten waiting times in {place}.",
            ),
            (
                "Flu cases rise across {region} ahead of winter",
                "Flu cases in {region} rose by {percent} percent compared with last month.",
            ),
            (
                "Study finds {habit} linked to better sleep",
                "The study followed about {count} adults in {place} for {n} years.",
            ),
            (
                "Health officials in {place} expand {program}",
                "Officials in {place} said {program} will reach {count} more families.",
            ),
        ],
        follows=[
            "Officials urged residents to book appointments early.",
            "The researchers say more work is needed to confirm the link.",
            "The service will be reviewed after its first year.",
        ],
        paragraphs=[
            "Pharmacies in {place} will extend their opening hours.",
            "Staff shortages remain the main concern for hospital managers.",
            "Patients can now register online or by phone.",
            "Older residents and young children are most at risk.",
        ],
    ),
    "Climate": TopicText(
        stories=[
            (
                "{place} records {weather}",
                "Meteorologists in {place} said the record was broken by a wide margin.",
            ),
            (
                "Floods close roads across {region}",
                "Emergency crews in {region} worked through the night to clear drains.",
            ),
            (
                "{place} plants {count} trees to cool its streets",
                "The planting is part of a plan to cut summer temperatures in {place}.",
            ),
            (
                "River level in {place} falls to {n}-year low",
                "Cargo boats could not reach {place} as the river fell to its lowest level.",
            ),
            (
                "New wind farm off {place} starts supplying power",
                "The wind farm off {place} can supply about {count} homes.",
            ),
        ],
        follows=[
            "Similar events are expected to become more frequent.",
            "Residents were asked to avoid unnecessary journeys.",
            "The city hopes to finish the work within {n} years.",
        ],
        paragraphs=[
            "Farmers in {region} reported damage to early crops.",
            "The weather service issued a warning for the weekend.",
            "Local schools will follow the project as part of their lessons.",
            "Insurers said claims were still being counted.",
        ],
    ),
    "Culture": TopicText(
        stories=[
            (
                "{place} museum opens exhibition on {subject}",
                "The exhibition on {subject} brings together photographs, letters and recordings.",
            ),
            (
                "Jazz festival returns to {place} after {n}-year break",
                "Organisers expect more than {count} visitors over the festival weekend.",
            ),
            (
                "Historic café in {place} reopens after restoration",
                "The café's painted ceiling was restored by craftspeople from {place}.",
            ),
            (
                "Novelist from {place} wins {prize}",
                "The jury praised the novel's humour and its portrait of {place}.",
            ),
            (
                "Film about {subject} premieres in {place}",
                "The documentary about {subject} took {n} years to make.",
            ),
        ],
        follows=[
            "Entry is free for children and students.",
            "Tickets go on sale next week.",
            "A touring version will visit {place2} next year.",
        ],
        paragraphs=[
            "Many of the objects have never been shown in public before.",
            "The programme includes concerts, talks and late openings.",
            "Local volunteers helped with the preparations.",
            "Reviews in the local press were warm.",
        ],
    ),
    "World": TopicText(
        stories=[
            (
                "Leaders meet in {place} to discuss {issue}",
                "Delegations from {n} countries attended the talks on {issue} in {place}.",
            ),
            (
                "Ferry link between {place} and {place2} resumes",
                "The ferry between {place} and {place2} had been suspended for {n} months.",
            ),
            (
                "{place} and {place2} sign {agreement}",
                "{place} and {place2} signed {agreement} after two years of negotiation.",
            ),
            (
                "Aid convoy reaches {region} after {n}-day journey",
                "The convoy carried food and medicine to about {count} families in {region}.",
            ),
        ],
        follows=[
            "Both sides described the talks as constructive.",
            "A follow-up meeting is planned for the spring.",
            "Aid groups said access remains difficult.",
        ],
        paragraphs=[
            "Observers said the deal could serve as a model for the region.",
            "Travellers welcomed the return of the crossing.",
            "Details of the funding will be published later.",
            "The next round of talks is expected in the autumn.",
        ],
    ),
    "Education": TopicText(
        stories=[
            (
                "Schools in {place} trial {idea}",
                "The trial of {idea} will run for one school year in {n} schools in {place}.",
            ),
            (
                "{university} opens campus in {place}",
                "The new campus of {university} in {place} will teach about {count} students.",
            ),
            (
                "Teachers in {place} vote on {edu_issue}",
                "Teachers' unions in {place} said turnout in the ballot on {edu_issue} was high.",
            ),
        ],
        follows=[
            "Parents will be asked for their views at the end of the term.",
            "Courses begin in the autumn.",
            "The result is expected next week.",
        ],
        paragraphs=[
            "Head teachers said early signs were encouraging.",
            "The campus includes a library open to the public.",
            "Education officials in {place} declined to comment.",
        ],
    ),
}

IMAGE_SIZES = [(1200, 800), (1280, 720), (1200, 630), (1024, 768), (800, 600), (640, 480)]
SECURED_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
PLAIN_YAML = re.compile(r"^[A-Za-z][A-Za-z0-9 .'&-]*$")
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}

# index → (primary topic, preset slots) for the articles whose text is partly set by hand
FORCED: dict[int, tuple[str, dict[str, str]]] = {
    0: ("Politics", {"place": "Zürich"}),
    1: ("Politics", {"plan": "night bus network"}),
    2: ("Politics", {"place": "Harbor City"}),
    4: ("Culture", {"place": "São Paulo"}),
    5: ("Culture", {"place": "Kraków"}),
    6: ("Culture", {"place": "Montréal"}),
}
# Titles that exercise the format: a '---' inside a quoted title, inline and on its own line
DASHED_TITLE = "Night bus network --- what changes on Monday"
FOLDED_TITLE_LINES = ["Budget talks in Harbor City", "---", "what we know so far"]
SHOWCASE_IMAGE_SIZE = (1200, 800)


@dataclass
class Sample:
    index: int
    title: str
    excerpt: str
    body: str
    date: dt.datetime | None
    year: int
    provider: tuple[str, str]
    topics: list[str]
    type: str
    quality: int
    heat: int
    published: bool
    url: str = ""
    images: list[tuple[str, int, int, str]] = field(default_factory=list)
    related: list[Sample] = field(default_factory=list)
    title_lines: list[str] | None = None
    topics_as_text: bool = False
    secured: str = ""

    @property
    def hash(self) -> str:
        return hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:16]

    @property
    def filename(self) -> str:
        return f"{1 + self.index // BATCH_SIZE:03d}_{self.hash}.txt"


class _Slots(dict[str, str]):
    """Fills ``{place}``-style slots on first use and keeps them, so that the title, excerpt
    and body of one article talk about the same place, team or company."""

    def __init__(self, rng: random.Random, preset: dict[str, str] | None = None) -> None:
        super().__init__(preset or {})
        self.rng = rng

    def __missing__(self, key: str) -> str:
        base = key.rstrip("2")
        if base in NUMBERS:
            value = str(NUMBERS[base](self.rng))
        else:
            choices = self._places() if base == "place" else WORDS[base]
            taken = self.get(base) if key != base else None
            value = self.rng.choice([choice for choice in choices if choice != taken])
        self[key] = value
        return value

    def _places(self) -> list[str]:
        return ACCENTED_PLACES if self.rng.random() < 0.04 else PLACES


def generate() -> list[Sample]:
    rng = random.Random(SEED)
    samples = [_random_sample(rng, index, *FORCED.get(index, ("", {}))) for index in range(COUNT)]
    _apply_specials(samples)
    _assign_urls(samples)
    for sample in samples:
        _add_images(rng, sample)
    for sample in samples:
        _add_related(rng, sample, samples)
        sample.secured = _secured(rng)
    return samples


def _random_sample(rng: random.Random, index: int, primary: str, preset: dict[str, str]) -> Sample:
    if not primary:
        topic_names = list(TOPICS)
        primary = rng.choices(topic_names, weights=[TOPICS[t][0] for t in topic_names])[0]
    extra = rng.choices([0, 1, 2], weights=[50, 35, 15])[0]
    topics = [primary, *rng.sample(TOPICS[primary][1], extra)]
    slots = _Slots(rng, preset)
    text = TEXTS[primary]
    title_template, lead = rng.choice(text.stories)
    title = _sentence_case(title_template.format_map(slots))
    excerpt = _sentence_case(lead.format_map(slots))
    if rng.random() < 0.6:
        excerpt += " " + rng.choice(text.follows).format_map(slots)
    body = ""
    if rng.random() < 0.33:
        count = min(rng.randint(2, 4), len(text.paragraphs))
        body = "\n\n".join(p.format_map(slots) for p in rng.sample(text.paragraphs, count))
    date = _random_date(rng)
    recent = date > ANCHOR - dt.timedelta(days=30)
    return Sample(
        index=index,
        title=title,
        excerpt=excerpt,
        body=body,
        date=None if rng.random() < 0.05 else date,
        year=date.year,
        provider=_pick_provider(rng, primary),
        topics=topics,
        type=rng.choices(["article", "video", "opinion"], weights=[90, 6, 4])[0],
        quality=min(300, int(rng.expovariate(1 / 45))),
        heat=_heat(rng, recent),
        published=rng.random() >= 0.06,
    )


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _random_date(rng: random.Random) -> dt.datetime:
    bucket = rng.choices(["day", "week", "month", "archive"], weights=[5, 6, 8, 81])[0]
    if bucket == "day":
        back = dt.timedelta(minutes=rng.randint(40, 20 * 60))
    elif bucket == "week":
        back = dt.timedelta(minutes=rng.randint(24 * 60, 7 * 24 * 60))
    elif bucket == "month":
        back = dt.timedelta(minutes=rng.randint(7 * 24 * 60, 30 * 24 * 60))
    else:
        span = int((ANCHOR - OLDEST).total_seconds() // 60) - 30 * 24 * 60
        back = dt.timedelta(minutes=30 * 24 * 60 + rng.randint(0, span))
    return (ANCHOR - back).replace(second=rng.randint(0, 59))


def _pick_provider(rng: random.Random, topic: str) -> tuple[str, str]:
    fitting = [p for p in PROVIDERS if not p[3] or topic in p[3]]
    name, domain, _share, _beats = rng.choices(fitting, weights=[p[2] for p in fitting])[0]
    return name, domain


def _heat(rng: random.Random, recent: bool) -> int:
    if rng.random() < (0.35 if recent else 0.82):
        return -1
    return min(100, int(rng.expovariate(1 / 14)))


def _apply_specials(samples: list[Sample]) -> None:
    _make_showcase(samples[0])
    samples[1].title = DASHED_TITLE
    samples[2].title = " ".join(FOLDED_TITLE_LINES)
    samples[2].title_lines = FOLDED_TITLE_LINES
    samples[3].topics = samples[3].topics[:1]
    samples[3].topics_as_text = True


def _make_showcase(sample: Sample) -> None:
    """Every field set by hand (its related entries are found like everyone else's)."""
    sample.title = "Zürich café owners back plan for a car-free old town"
    sample.excerpt = (
        "Owners of more than forty cafés in Zürich's old town signed a letter supporting the "
        "plan. The city council votes on it next month."
    )
    sample.body = (
        "The letter asks the council to close four streets to cars on weekends from spring.\n\n"
        "Café owners say outdoor seating would bring more visitors to the old town.\n\n"
        "Delivery firms asked for early-morning access to be kept."
    )
    sample.date = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
    sample.year = 2026
    sample.provider = ("Alpine Wire", "alpine-wire.sample")
    sample.topics = ["Politics", "Culture"]
    sample.quality, sample.heat = 187, 42
    sample.type, sample.published = "article", True


def _assign_urls(samples: list[Sample]) -> None:
    taken: set[str] = set()
    for sample in samples:
        slug = _slug(sample.title)
        url = f"https://{sample.provider[1]}/{sample.year}/{slug}"
        suffix = 2
        while url in taken:
            url = f"https://{sample.provider[1]}/{sample.year}/{slug}-{suffix}"
            suffix += 1
        taken.add(url)
        sample.url = url


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) > 60:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug


def _add_images(rng: random.Random, sample: Sample) -> None:
    if sample.index == 0:
        width, height = SHOWCASE_IMAGE_SIZE
        sample.images.append((_image_url(sample, 1), width, height, sample.title))
        return
    if rng.random() >= 0.35:
        return
    for number in range(1, rng.choices([2, 3], weights=[85, 15])[0]):
        width, height = rng.choice(IMAGE_SIZES)
        title = sample.title if number == 1 and rng.random() < 0.8 else ""
        sample.images.append((_image_url(sample, number), width, height, title))


def _image_url(sample: Sample, number: int) -> str:
    return f"https://{sample.provider[1]}/images/{sample.hash}-{number}.jpg"


def _add_related(rng: random.Random, sample: Sample, samples: list[Sample]) -> None:
    """Like the corpus: 1-3 other published articles sharing a topic, closest in date first."""
    if sample.index != 0 and rng.random() >= 0.5:
        return
    candidates = [
        other
        for other in samples
        if other is not sample and other.published and set(other.topics) & set(sample.topics)
    ]
    candidates.sort(key=lambda other: (_date_gap(sample, other), other.url))
    sample.related = candidates[: rng.randint(1, 3) if sample.index else 2]


def _date_gap(one: Sample, other: Sample) -> float:
    if one.date is None or other.date is None:
        return float("inf")
    return abs((one.date - other.date).total_seconds())


def _secured(rng: random.Random) -> str:
    head = "".join(rng.choice(SECURED_ALPHABET) for _ in range(rng.randint(120, 280)))
    tail = "".join(rng.choice(SECURED_ALPHABET) for _ in range(22))
    return f"{head};{tail}=="


def render(sample: Sample) -> str:
    lines = ["---", "category: news"]
    if sample.title_lines:
        lines.append(f'title: "{sample.title_lines[0]}')
        lines.extend(f"  {line}" for line in sample.title_lines[1:-1])
        lines.append(f'  {sample.title_lines[-1]}"')
    else:
        lines.append(f"title: {_quoted(sample.title)}")
    lines += [
        *_summary_lines(sample, ""),
        f"quality: {sample.quality}",
        f"heat: {sample.heat}",
        f"published: {'true' if sample.published else 'false'}",
        "",
        *_provider_lines(sample.provider, ""),
        "",
    ]
    if sample.topics_as_text:
        lines += [f"topics: {_scalar(sample.topics[0])}", ""]
    else:
        lines += ["topics:", *(f"  - {_scalar(topic)}" for topic in sample.topics), ""]
    if sample.images:
        lines += ["images:", *_image_lines(sample.images, "  "), ""]
    if sample.related:
        lines.append("related:")
        for other in sample.related:
            lines += _related_lines(other)
        lines.append("")
    lines += [f"secured: {_quoted(sample.secured)}", "---"]
    if sample.body:
        lines.append(sample.body)
    return "\n".join(lines) + "\n"


def _summary_lines(sample: Sample, indent: str) -> list[str]:
    """The keys a related entry repeats from its target, in the corpus order."""
    lines = [f"{indent}excerpt: {_quoted(sample.excerpt)}"]
    if sample.date is not None:
        lines.append(f"{indent}publishedDateTime: {_iso(sample.date)}")
    return [*lines, f"{indent}webUrl: {_quoted(sample.url)}", f"{indent}type: {sample.type}"]


def _related_lines(other: Sample) -> list[str]:
    lines = [
        f"  - title: {_quoted(other.title)}",
        *_summary_lines(other, "    "),
        *_provider_lines(other.provider, "    "),
        f"    quality: {other.quality}",
    ]
    if other.images:
        untitled = [(url, width, height, "") for url, width, height, _title in other.images]
        lines += ["    images:", *_image_lines(untitled, "      ")]
    return lines


def _provider_lines(provider: tuple[str, str], indent: str) -> list[str]:
    name, domain = provider
    return [
        f"{indent}provider:",
        f"{indent}  name: {_scalar(name)}",
        f"{indent}  domain: {_scalar(domain)}",
    ]


def _image_lines(images: list[tuple[str, int, int, str]], indent: str) -> list[str]:
    lines = []
    for url, width, height, title in images:
        lines += [
            f"{indent}- url: {_quoted(url)}",
            f"{indent}  width: {width}",
            f"{indent}  height: {height}",
        ]
        if title:
            lines.append(f"{indent}  title: {_quoted(title)}")
    return lines


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _scalar(text: str) -> str:
    plain = PLAIN_YAML.match(text) and text.lower() not in YAML_WORDS
    return text if plain else _quoted(text)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_samples(out_dir: Path) -> list[Path]:
    """Write every sample into ``out_dir``; remove generated files of an earlier run that are
    no longer produced (never batch 000, the reference sample)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in generate():
        path = out_dir / sample.filename
        path.write_bytes(render(sample).encode("utf-8"))
        written.append(path)
    keep = {path.name for path in written}
    for stale in sorted(out_dir.iterdir()):
        match = GENERATED_NAME.match(stale.name)
        if match and match.group(1) != RESERVED_BATCH and stale.name not in keep:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    written = write_samples(args.out)
    print(f"wrote {len(written)} sample articles to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
