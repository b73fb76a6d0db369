"""Filler documents for the scale benchmark: realistic FAQ pages about *other* health care.

The scale benchmark grows the index around the real corpus with these pages, so each real
question still has one right answer among many distractors. They are written to compete
for the generic questions patients ask (cost, insurance, safety, how long a session takes,
parking, billing, forms) while never touching ketamine treatment: :data:`FORBIDDEN` is
checked on every page, and the generator refuses to return a page that matches it.

Generation is pure and seeded: page ``i`` depends only on ``(seed, i)``, so a smaller
filler set is a prefix of a larger one and their embeddings can be cached between runs.

Each page is front matter (title, publisher), an ``#`` title with an introduction, and
``## Question?`` sections whose bodies are 500-900 characters, so kapbot's chunker
(``chunk_max_chars`` 1200) makes exactly one chunk per section, introduction included.

Example:
    >>> docs = generate_documents(50, seed=1)
    >>> sum(d.chunks for d in docs) >= 50
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Never in a filler page: the clinic's own subject, so no filler passage can be a right answer.
FORBIDDEN = re.compile(
    r"ketamine|spravato|\bkap\b|psychedelic|psilocybin|mdma|dissociat|infusion"
    r"|psychotherap|assisted therapy|medicine-assisted|medication-assisted",
    re.IGNORECASE,
)
BODY_MIN = 500  # characters of a section body (without its heading line)
BODY_MAX = 900  # well under chunk_max_chars, so a section never splits
SECTIONS_PER_PAGE = (4, 9)
JOIN_PROBABILITY = 0.75
# Sentence openings that stay capitalised, so such a sentence is never joined to the last.
_PROPER_STARTS = ("Saturday", "Medicaid", "Medicare", "Monday", "Sign ", "Swedish", "English")


@dataclass(frozen=True)
class Topic:
    """A health-care service the filler pages are about (``;`` separates list items)."""

    name: str
    clinic_words: str
    provider: str
    visit: str
    treatments: str
    conditions: str
    minutes: tuple[int, int]
    course: tuple[int, int]
    price: tuple[int, int]
    prep: str
    risks: str
    home: str
    results: str

    def items(self, field: str) -> list[str]:
        return [s.strip() for s in str(getattr(self, field)).split(";")]

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


# fmt: off
TOPICS: tuple[Topic, ...] = (
    Topic("physical therapy", "Physical Therapy; Rehab Partners; Movement Clinic", "physical therapist", "session",
          "manual therapy; therapeutic exercise; gait training; balance training", "low back pain; recovery after knee replacement; sprained ankles; rotator cuff injuries",
          (45, 60), (6, 12), (95, 180), "wear loose clothing you can move in; bring any imaging reports you have", "muscle soreness for a day or two; mild tiredness",
          "a short set of exercises to do at home", "Most people notice that everyday movements get easier within three to four weeks."),
    Topic("dental care", "Dental Care; Family Dentistry; Dental Group", "dentist", "appointment",
          "professional cleaning; dental X-rays; fillings; fluoride treatment", "tooth decay; gum disease; tooth sensitivity; worn fillings",
          (30, 60), (1, 3), (110, 260), "brush and floss as usual; bring a list of any dental work done elsewhere", "sensitive gums for a day; a numb lip that wears off in a few hours",
          "brushing and flossing tips for your teeth", "Healthy gums usually bleed less within two weeks of a cleaning and better home care."),
    Topic("allergy shots", "Allergy & Asthma Center; Allergy Associates; Allergy Clinic", "allergist", "shot appointment",
          "skin prick testing; allergen immunotherapy injections; breathing tests", "seasonal hay fever; dust mite allergy; pet dander allergy; insect sting allergy",
          (30, 45), (20, 40), (45, 120), "stop antihistamines five days before skin testing unless told otherwise; eat a light meal beforehand", "redness and swelling where the shot was given; itching at the injection site",
          "a symptom diary to keep between shots", "Many patients notice fewer allergy symptoms after six to twelve months of regular shots."),
    Topic("sleep medicine", "Sleep Center; Sleep Clinic; Sleep Health", "sleep physician", "visit",
          "overnight sleep studies; home sleep apnea tests; CPAP fitting; sleep habit coaching", "sleep apnea; insomnia; restless legs; snoring",
          (30, 60), (2, 4), (150, 400), "keep to your usual bedtime routine; avoid caffeine after noon on the day of a sleep study", "skin marks from the sensors; a dry mouth when first using CPAP",
          "a sleep log for the next two weeks", "People starting CPAP often feel more rested within the first few weeks of nightly use."),
    Topic("dermatology", "Dermatology; Skin Clinic; Skin Health Center", "dermatologist", "appointment",
          "full skin checks; biopsies; cryotherapy; prescription creams", "acne; eczema; psoriasis; suspicious moles",
          (15, 30), (1, 4), (120, 250), "remove nail polish and makeup before a skin check; make a note of any spots that have changed", "mild redness after treatment; a small scar where a biopsy was taken",
          "a skin care routine to follow at home", "Most skin conditions improve over six to eight weeks, because skin renews itself slowly."),
    Topic("nutrition counselling", "Nutrition Services; Dietitian Group; Nutrition Clinic", "registered dietitian", "session",
          "meal planning; food diaries; label-reading coaching; grocery store tours", "high cholesterol; type 2 diabetes; digestive problems; food allergies",
          (45, 60), (3, 6), (85, 150), "keep a three-day food diary; bring recent lab results if you have them", "a few days of adjusting to new eating habits; mild digestive changes",
          "a simple meal plan for the coming weeks", "Many clients see changes in energy and lab results within two to three months."),
    Topic("cardiac rehab", "Cardiac Rehabilitation; Heart Health Center; Cardiac Wellness", "exercise physiologist", "session",
          "monitored exercise; blood pressure checks; heart-healthy cooking classes; stress management education", "recovery after a heart attack; heart surgery recovery; stable angina; heart failure",
          (60, 75), (24, 36), (70, 160), "wear supportive shoes and comfortable clothes; take your usual heart medicines unless told otherwise", "muscle tiredness; mild shortness of breath during exercise",
          "a walking plan for the days between sessions", "Most people can walk further and with less effort after the first twelve sessions."),
    Topic("vaccinations", "Immunization Clinic; Travel Health; Vaccine Clinic", "nurse", "vaccine appointment",
          "flu shots; shingles vaccines; travel vaccines; tetanus boosters", "travel abroad; school requirements; seasonal flu protection; catching up on missed vaccines",
          (15, 20), (1, 3), (30, 220), "bring your vaccination record; wear a short-sleeved shirt", "a sore arm; a mild fever for a day",
          "a reminder card for your next dose", "Protection usually builds over about two weeks after each dose."),
    Topic("hearing aids", "Hearing Center; Audiology; Hearing Care", "audiologist", "appointment",
          "hearing tests; hearing aid fitting; ear wax removal; tinnitus evaluation", "age-related hearing loss; ringing in the ears; muffled hearing; trouble hearing in crowds",
          (45, 90), (2, 5), (90, 300), "avoid loud noise for a day before your hearing test; bring a family member who knows your voice", "a feeling of fullness in the ear at first; sore spots while getting used to a new device",
          "a plan for wearing your new hearing aids a little longer each day", "Most people adjust to new hearing aids over two to four weeks."),
    Topic("optometry", "Eye Care; Vision Center; Optometry", "optometrist", "eye exam",
          "comprehensive eye exams; contact lens fitting; glaucoma screening; retinal photography", "blurry vision; dry eyes; eye strain from screens; early cataracts",
          (30, 60), (1, 2), (95, 210), "bring your current glasses and contact lens boxes; arrange a driver if your pupils will be dilated", "light sensitivity after dilation; brief blurry vision",
          "eye drops and screen-break advice", "New glasses usually feel natural within a few days to two weeks."),
    Topic("orthodontics", "Orthodontics; Smile Studio; Braces & Aligners", "orthodontist", "adjustment visit",
          "metal braces; clear aligners; retainers; bite correction", "crowded teeth; gaps between teeth; overbite; crossbite",
          (20, 60), (12, 24), (180, 350), "brush well before each visit; bring your aligner case", "tender teeth for a few days after an adjustment; rubbing on the cheeks",
          "cleaning tips for braces and aligners", "Treatment usually takes twelve to twenty-four months, with visible changes in the first few months."),
    Topic("chiropractic care", "Chiropractic; Spine & Wellness; Chiropractic Center", "chiropractor", "visit",
          "spinal adjustments; soft tissue work; posture assessment; home stretching plans", "neck pain; back stiffness; tension headaches; posture problems",
          (15, 30), (4, 10), (55, 120), "wear comfortable clothing; bring any X-ray reports", "mild stiffness the next day; temporary soreness",
          "stretches and posture tips", "Many patients notice less stiffness after the first few visits."),
    Topic("occupational therapy", "Occupational Therapy; Hand & Upper Limb Clinic; Therapy Services", "occupational therapist", "session",
          "daily living skills training; splinting; fine motor exercises; home safety assessments", "recovery after a stroke; arthritis in the hands; wrist fractures; returning to work after injury",
          (45, 60), (6, 16), (90, 170), "bring any splints or aids you already use; write down the daily tasks that are hardest", "hand fatigue; mild soreness",
          "practice tasks for everyday activities", "Most people regain confidence with daily tasks over several weeks of regular practice."),
    Topic("speech therapy", "Speech & Language Center; Speech Therapy; Communication Clinic", "speech-language pathologist", "session",
          "articulation practice; swallowing assessments; voice therapy; language games for children", "speech delays; stuttering; swallowing difficulty; hoarse voice",
          (30, 60), (8, 20), (80, 160), "bring hearing aids or glasses if you use them; note the situations where speaking is hardest", "tiredness after voice exercises; a dry throat",
          "short daily speaking exercises", "Progress is often noticeable after six to eight weekly sessions."),
    Topic("podiatry", "Foot & Ankle Center; Podiatry; Foot Care Clinic", "podiatrist", "appointment",
          "nail care; custom orthotics; heel pain treatment; diabetic foot checks", "heel pain; ingrown toenails; bunions; diabetic foot problems",
          (20, 40), (1, 4), (90, 220), "bring the shoes you wear most often; remove nail polish from your toes", "tenderness after nail treatment; a short break-in period for new orthotics",
          "foot care steps to follow at home", "Heel pain often eases within six to eight weeks with the right support."),
    Topic("prenatal care", "Women's Health; Midwifery Care; Birth Center", "midwife", "prenatal visit",
          "ultrasounds; prenatal blood tests; glucose screening; birth planning", "a first pregnancy; pregnancy after a previous caesarean; twin pregnancies; morning sickness",
          (20, 40), (10, 14), (120, 260), "bring a list of questions and your partner or support person if you like; bring your prenatal vitamins", "a sore arm after blood tests; mild discomfort during some exams",
          "a pregnancy checklist for the weeks ahead", "Visits become more frequent in the third trimester so that your midwife can follow the baby's growth."),
    Topic("well-child visits", "Pediatrics; Children's Clinic; Kids Health Center", "pediatrician", "well-child visit",
          "growth checks; developmental screening; childhood vaccines; vision and hearing screening", "newborn care; toddler development; school readiness; teen health",
          (20, 40), (1, 2), (110, 220), "bring your child's vaccine record; note any questions about sleep, eating or behaviour", "fussiness after vaccines; a mild fever for a day",
          "a guide to the next stage of your child's development", "Regular visits let the pediatrician spot changes early, when they are easiest to address."),
    Topic("annual wellness exams", "Primary Care; Family Medicine; Community Health", "primary care provider", "wellness visit",
          "blood pressure checks; routine blood work; cancer screening; vaccine reviews", "high blood pressure; high cholesterol; preventive screening; managing several medicines",
          (30, 45), (1, 1), (150, 280), "fast for eight hours if blood work is planned; bring all your medicine bottles", "a small bruise after a blood draw; brief lightheadedness",
          "a summary of the screenings you are due for", "Most screening results are posted to the portal within a week."),
    Topic("diabetes education", "Diabetes Center; Diabetes Education Program; Endocrine Clinic", "certified diabetes educator", "class",
          "glucose meter training; carbohydrate counting; insulin technique review; continuous glucose monitor setup", "type 1 diabetes; type 2 diabetes; prediabetes; gestational diabetes",
          (60, 120), (3, 6), (60, 140), "bring your glucose meter and logbook; eat as you normally would", "low blood sugar while adjusting medicines; sore fingertips from testing",
          "a daily plan for checking your blood sugar", "Many people see better blood sugar readings within the first three months."),
    Topic("pulmonary rehab", "Pulmonary Rehabilitation; Lung Health Center; Breathing Clinic", "respiratory therapist", "session",
          "supervised exercise; breathing techniques; oxygen use training; inhaler coaching", "COPD; pulmonary fibrosis; recovery after lung surgery; long-term asthma",
          (60, 90), (16, 24), (70, 150), "bring your inhalers and portable oxygen if you use it; wear comfortable shoes", "shortness of breath during exercise; tired legs",
          "breathing exercises to practise daily", "Most people can walk further and feel less out of breath after eight weeks."),
    Topic("wound care", "Wound Care Center; Wound Healing Clinic; Advanced Wound Care", "wound care nurse", "visit",
          "dressing changes; debridement; compression wraps; offloading boots", "diabetic foot ulcers; pressure sores; slow-healing surgical wounds; leg ulcers",
          (30, 60), (6, 16), (120, 300), "wear loose clothing that gives easy access to the wound; bring the dressings you have been using", "mild discomfort during dressing changes; redness around the wound edges",
          "dressing instructions for the days between visits", "Most chronic wounds show measurable healing within four to six weeks."),
    Topic("massage therapy", "Massage Therapy; Therapeutic Massage; Bodywork Studio", "licensed massage therapist", "massage session",
          "Swedish massage; deep tissue massage; trigger point work; prenatal massage", "tight shoulders; sports recovery; stress-related muscle tension; lower back tightness",
          (30, 90), (1, 6), (60, 140), "drink water before you arrive; tell us about any areas to avoid", "mild soreness for a day; feeling thirsty afterwards",
          "gentle stretches to keep muscles loose", "Many clients feel looser right away, and regular sessions help the change last."),
    Topic("acupuncture", "Acupuncture; Integrative Health; Acupuncture Clinic", "licensed acupuncturist", "treatment",
          "acupuncture; cupping; heat therapy; gentle electrical stimulation", "chronic neck pain; migraines; nausea; joint pain",
          (45, 60), (4, 8), (75, 140), "eat a light meal beforehand; wear loose clothing", "small bruises where needles were placed; brief tiredness",
          "tips for rest and hydration after each treatment", "Most people can tell whether acupuncture helps within four to six treatments."),
    Topic("laboratory testing", "Lab Services; Diagnostic Lab; Patient Service Center", "phlebotomist", "lab visit",
          "blood draws; urine tests; glucose tolerance tests; drug level monitoring", "routine screening; monitoring a long-term condition; pre-surgery testing; pregnancy testing",
          (10, 20), (1, 1), (25, 180), "fast overnight if your test requires it; drink plenty of water so veins are easier to find", "a small bruise; brief lightheadedness",
          "instructions for any collection you do at home", "Most routine results reach your clinician within one to three business days."),
    Topic("medical imaging", "Imaging Center; Radiology; Diagnostic Imaging", "radiologic technologist", "scan",
          "X-rays; ultrasound; MRI; CT scans", "sports injuries; abdominal pain; joint problems; follow-up of earlier findings",
          (15, 60), (1, 1), (90, 900), "leave jewellery at home; tell us if you have any metal implants or might be pregnant", "feeling cold on the scanner table; mild warmth from contrast dye",
          "instructions for getting your results", "A radiologist reads your images and sends a report to your clinician, usually within two business days."),
    Topic("urgent care", "Urgent Care; Walk-In Clinic; Express Care", "urgent care physician", "visit",
          "stitches; X-rays; rapid strep and flu tests; splinting", "minor cuts; sprains; sore throats; urinary infections",
          (30, 60), (1, 1), (130, 250), "bring a list of your medicines and allergies; check in online to save your place", "soreness where stitches were placed; mild discomfort from a splint",
          "care instructions for the next few days", "Most minor illnesses and injuries improve within a few days with the right care."),
    Topic("weight management", "Weight Management; Healthy Weight Program; Metabolic Health", "obesity medicine physician", "visit",
          "body composition testing; nutrition coaching; activity planning; prescription medicines when appropriate", "obesity; weight-related joint pain; prediabetes; sleep apnea linked to weight",
          (30, 60), (6, 12), (100, 220), "bring a week of food and activity notes; wear light clothing for weigh-ins", "nausea when starting some medicines; tiredness while adjusting to new habits",
          "small weekly goals for eating and activity", "Steady progress of about one to two pounds a week is common and healthy."),
    Topic("smoking cessation", "Quit Smoking Program; Tobacco Treatment Center; Breathe Free Clinic", "tobacco treatment specialist", "coaching session",
          "nicotine replacement; quit-date planning; group classes; carbon monoxide breath tests", "cigarette smoking; vaping; chewing tobacco; relapse after quitting",
          (20, 45), (4, 8), (0, 90), "write down when and why you usually smoke; bring any quit aids you have tried", "cravings in the first weeks; trouble sleeping while adjusting",
          "a quit plan with coping steps for cravings", "Cravings usually ease noticeably after the first two to four weeks."),
    Topic("pelvic floor therapy", "Pelvic Health; Women's & Men's Pelvic Therapy; Pelvic Floor Clinic", "pelvic health physical therapist", "session",
          "pelvic floor exercises; biofeedback; bladder training; posture and breathing work", "bladder leakage; pelvic pain; recovery after childbirth; recovery after prostate surgery",
          (45, 60), (6, 10), (100, 190), "wear comfortable clothing; keep a three-day bladder diary", "mild muscle soreness; brief tiredness",
          "daily exercises that take about ten minutes", "Many patients notice fewer symptoms within six to eight weeks."),
    Topic("colonoscopy", "Digestive Health Center; GI Associates; Endoscopy Center", "gastroenterologist", "procedure",
          "screening colonoscopy; polyp removal; upper endoscopy; sedation monitoring", "colon cancer screening; blood in the stool; long-lasting changes in bowel habits; family history of colon polyps",
          (30, 60), (1, 1), (900, 2800), "follow the bowel preparation instructions exactly; arrange for an adult to drive you home", "bloating and gas for a few hours; drowsiness from sedation",
          "a diet plan for the rest of the day", "Your gastroenterologist will tell you the main findings before you leave and send biopsy results within a week."),
    Topic("mammography", "Breast Imaging Center; Women's Imaging; Breast Health", "mammography technologist", "screening",
          "screening mammograms; 3D mammography; breast ultrasound; image-guided biopsy", "routine breast screening; a new breast lump; breast pain; family history of breast cancer",
          (15, 30), (1, 1), (100, 350), "skip deodorant and lotion on the day of your mammogram; wear a two-piece outfit", "brief discomfort during compression; mild tenderness afterwards",
          "instructions for follow-up if more images are needed", "Most results are sent to you and your clinician within a few business days."),
    Topic("lactation support", "Lactation Services; Breastfeeding Center; New Parent Clinic", "lactation consultant", "consultation",
          "feeding assessments; latch support; pump fitting; weighted feeds", "latch problems; low milk supply; sore nipples; returning to work while breastfeeding",
          (60, 90), (1, 3), (90, 200), "bring your baby, your pump parts and any bottles you use; come when your baby is likely to be hungry", "mild tenderness while trying new positions; tiredness",
          "a feeding plan for the next few days", "Many families find feeds more comfortable within a few days of changing the latch."),
    Topic("home health nursing", "Home Health; Visiting Nurses; Home Care Services", "home health nurse", "home visit",
          "wound care; medicine management; blood pressure checks; help after a hospital stay", "recovery after surgery; heart failure; diabetes; limited mobility",
          (30, 60), (4, 12), (0, 180), "keep your medicines and hospital discharge papers together; clear a space where the nurse can work", "tiredness after therapy exercises; mild discomfort with wound care",
          "a checklist of warning signs to watch for", "Most episodes of home care last a few weeks, until you can safely manage on your own."),
    Topic("vestibular therapy", "Balance & Dizziness Center; Vestibular Rehab; Balance Clinic", "vestibular therapist", "session",
          "balance retraining; repositioning maneuvers; gaze stability exercises; fall prevention training", "vertigo; dizziness after a concussion; inner ear problems; fear of falling",
          (45, 60), (4, 10), (95, 180), "arrange a ride if dizziness makes driving unsafe; wear flat, supportive shoes", "brief dizziness during exercises; mild nausea",
          "balance exercises for a few minutes a day", "Many people with positional vertigo feel better after one or two visits."),
    Topic("orthotics and prosthetics", "Orthotics & Prosthetics; Limb & Brace Center; O&P Clinic", "certified prosthetist", "fitting",
          "custom braces; prosthetic limb fitting; shoe inserts; gait analysis", "limb loss; drop foot; scoliosis; knee instability",
          (45, 90), (3, 6), (150, 600), "bring the shoes you wear most; bring your current brace or device", "pressure spots while the fit is adjusted; muscle tiredness",
          "a wearing schedule for your new device", "Most people need a few adjustments over the first month before a device feels right."),
    Topic("dialysis", "Kidney Care Center; Dialysis Services; Renal Clinic", "dialysis nurse", "treatment",
          "in-center hemodialysis; home dialysis training; fistula checks; kidney diet education", "kidney failure; chronic kidney disease; high blood pressure from kidney disease; fluid overload",
          (180, 240), (36, 40), (250, 600), "eat a light meal before treatment; bring a blanket and something to read", "cramping during treatment; low blood pressure and tiredness",
          "a fluid and diet plan between treatments", "Most patients feel their energy settle once a regular treatment schedule is in place."),
    Topic("fertility care", "Fertility Center; Reproductive Health; Fertility Clinic", "reproductive endocrinologist", "monitoring visit",
          "ovulation tracking; hormone testing; intrauterine insemination; semen analysis", "trouble conceiving; irregular cycles; recurrent pregnancy loss; fertility preservation",
          (20, 45), (3, 10), (200, 900), "bring your cycle notes and any earlier test results; plan for early morning monitoring visits", "bloating; mild cramping",
          "a calendar for medicines and monitoring visits", "Each treatment cycle lasts about a month, and your physician reviews the plan after every cycle."),
    Topic("sports medicine", "Sports Medicine; Athletic Performance Clinic; Sports Injury Center", "sports medicine physician", "appointment",
          "injury assessment; joint injections; return-to-play testing; bracing", "runner's knee; tennis elbow; shin splints; concussion",
          (20, 45), (2, 6), (130, 260), "bring your sports shoes; bring any imaging from an earlier injury", "soreness at an injection site; stiffness for a day",
          "a return-to-sport plan in steps", "Most athletes return to full training within weeks when they follow the plan."),
    Topic("cosmetic dermatology", "Aesthetic Dermatology; Laser & Skin Studio; Cosmetic Skin Clinic", "aesthetic nurse", "treatment",
          "laser resurfacing; chemical peels; microneedling; light therapy for redness", "sun damage; acne scars; rosacea; uneven skin tone",
          (30, 60), (3, 6), (150, 650), "avoid tanning for two weeks before treatment; arrive without makeup", "redness and mild swelling for a few days; temporary skin peeling",
          "a sun protection and skin care plan", "Results build gradually, and most people see the full effect a few weeks after the last treatment."),
    Topic("medication therapy management", "Clinical Pharmacy; Medication Review Service; Pharmacy Care", "clinical pharmacist", "medication review",
          "full medicine reviews; blood pressure monitoring; inhaler technique checks; pill organizer setup", "taking many medicines; side effects from medicines; high blood pressure; trouble remembering doses",
          (30, 45), (1, 3), (0, 120), "bring every medicine, vitamin and supplement you take in its original bottle; bring a list of questions", "a short adjustment period if a dose changes; mild stomach upset with some changes",
          "an updated medicine list to keep in your wallet", "Most patients leave their first review with a simpler, clearer medicine schedule."),
    Topic("bone density testing", "Bone Health Center; Osteoporosis Clinic; Women's Imaging", "bone densitometry technologist", "scan",
          "DEXA scans; fracture risk assessment; vitamin D testing; bone health education", "osteoporosis screening; a recent fracture; long-term steroid use; early menopause",
          (15, 30), (1, 1), (100, 250), "skip calcium supplements for a day before the scan; wear clothing without metal zippers or buttons", "no pain during the scan; brief stiffness from lying still",
          "bone-strengthening exercise tips", "Scans are usually repeated every two years so that changes can be compared."),
)
# fmt: on

PLACES = (
    "Riverside", "Maple Grove", "Harbor View", "Cedar Hill", "Lakeshore", "Oak Park",
    "Willow Creek", "Northgate", "Brookside", "Pine Ridge", "Summit", "Fairview", "Westfield",
    "Elmwood", "Stonebridge", "Bayside", "Highland", "Meadowbrook", "Silver Lake", "Ashford",
    "Crestview", "Foxborough", "Greenway", "Hillcrest", "Kingsley", "Linden", "Marlow",
    "Newbury", "Orchard Park", "Parkside", "Quarry Hill", "Redwood", "Southport", "Thornton",
    "Union Square", "Valley View", "Wexford", "Yarrow", "Alder Bay", "Birchwood",
)  # fmt: skip
STREETS = (
    "Main Street", "Elm Avenue", "Market Street", "Park Road", "Chestnut Street", "Mill Lane",
    "Station Road", "Church Street", "Lake Drive", "Commerce Way", "Hospital Drive",
    "Garden Avenue", "Bridge Street", "Harbor Boulevard", "College Avenue", "Spring Street",
)  # fmt: skip
LANDMARKS = (
    "public library", "community center", "post office", "high school", "farmers market",
    "fire station", "city park", "train station", "shopping plaza", "town hall",
)  # fmt: skip
TITLES = (
    "{TopicTitle} at {clinic}: Frequently Asked Questions",
    "Your {TopicTitle} {Visit}: What to Know Before You Come",
    "{clinic}: A Patient Guide to {TopicTitle}",
    "Questions Patients Ask About {TopicTitle}",
    "{TopicTitle} FAQ for New Patients",
    "Getting Started With {TopicTitle} at {clinic}",
)

INTRO = (
    "This page answers the questions we hear most often about {topic} at {clinic} in {city}.",
    "{Topic} helps people with {condition}, {condition2} and related concerns.",
    "Whether you were referred by your doctor or found us on your own, we want your first {visit} to feel straightforward.",
    "Below you will find information about appointments, costs, insurance, safety and what to expect.",
    "Our {providers} have cared for patients in {city} and the surrounding towns for more than {years} years.",
    "Every plan is built around your goals, your schedule and your health history.",
    "We update this guide every year, and the front desk can answer anything it does not cover.",
    "If you are comparing clinics, we encourage you to call and ask questions before you book.",
)

GENERIC = (
    "If you have questions that are not answered here, please call the front desk at {phone}.",
    "Our staff are happy to help you find the information you need.",
    "Information on this page is general and may not apply to every patient.",
    "Policies may change, and the most recent version is always available at the front desk.",
    "We welcome feedback about your experience at {clinic}.",
    "The patient portal is the fastest way to reach the care team with a question that is not urgent.",
    "{clinic} has served families in {city} and the surrounding area for many years.",
    "Thank you for choosing {clinic} for your {topic} care.",
    "Messages left after hours are returned the next business day.",
    "We aim to make every {visit} as comfortable and straightforward as possible.",
    "Our front desk team can also help with directions, forms and appointment changes.",
    "For anything urgent after hours, call 911 or go to the nearest emergency department.",
)

# Section kind -> (headings, sentences). Every heading is a patient's question.
SECTIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "overview": (
        ("What is {topic}?", "What does {topic} involve?", "What can {topic} help with?", "Why would I need {topic}?"),
        (
            "{Topic} at {clinic} is provided by licensed {providers} who work with patients of many ages and backgrounds.",
            "Most people come to us for help with {condition}, although we also see patients with {condition2}.",
            "A typical plan combines {treatment} with {treatment2}, adjusted to what you need at each {visit}.",
            "Your {provider} starts by listening to your goals and reviewing your health history before recommending anything.",
            "{Topic} is usually one part of your overall care, so we share updates with your primary care provider when you ask us to.",
            "We offer {treatment} because it is well studied and can be adapted to people with very different needs.",
            "Many patients are referred by their doctor, but you are also welcome to contact us directly.",
            "Care is planned around clear, measurable goals so that you and your {provider} can see how things are going.",
            "Our team has offered {topic} in {city} for more than {years} years.",
            "If {topic} is not the right fit for you, we will tell you and help you find a service that is.",
        ),
    ),
    "first_visit": (
        ("What happens at my first {visit}?", "What should I expect at the first appointment?", "How does the first {visit} work?"),
        (
            "Your first {visit} usually lasts about {first_minutes} minutes, a little longer than later ones.",
            "Please arrive {early} minutes early so the front desk can check your insurance card and photo ID.",
            "Your {provider} will ask about your symptoms, medicines, past procedures and what you hope to get out of {topic}.",
            "Depending on what we find, the first {visit} may include {treatment}.",
            "At the end of the appointment we agree on a plan and book your next {visits} before you leave.",
            "You are welcome to bring a family member or friend into the room with you.",
            "If you have recent test results or reports from another clinic, bring copies or ask that office to send them ahead of time.",
            "There is time at the end to ask questions, and we will give you written instructions to take home.",
            "New patients fill out a short health questionnaire, either online before the visit or on a tablet in the waiting room.",
        ),
    ),
    "session_length": (
        ("How long does a {visit} take?", "How long will I be at the clinic?", "How much time should I set aside for each {visit}?"),
        (
            "Most {visits} take between {minutes} and {minutes2} minutes.",
            "Plan on being at the clinic for about {total_minutes} minutes in total, including check-in and checkout.",
            "Visits that include {treatment} can run a little longer.",
            "We try hard to run on time; if your {provider} is delayed by more than {delay} minutes, the front desk will let you know.",
            "Follow-up {visits} are usually shorter than the first one because the paperwork and assessment are already done.",
            "If you need to leave by a certain time, tell us when you check in and we will plan around it.",
            "Early morning appointments are the least likely to run late.",
            "Your {provider} will tell you at the end of each {visit} how long the next one is likely to take.",
        ),
    ),
    "course": (
        ("How many {visits} will I need?", "How often do I need to come in?", "How long does a course of {topic} last?"),
        (
            "Most patients need {count_phrase}, but the number depends on your goals and how you respond.",
            "In the beginning, {visits} are usually scheduled {frequency}, and they become less frequent as you improve.",
            "Your {provider} reviews your progress every {review_every} {visits} and adjusts the plan with you.",
            "Some people with {condition} continue with occasional check-ins for several months.",
            "You can stop at any time; we simply ask that you let us know so we can release your reserved times.",
            "We will never book a long series up front without explaining why it is recommended.",
            "Insurance plans sometimes limit the number of covered {visits} per year, so we keep track of your remaining visits for you.",
            "If you miss a few appointments, we will help you pick up where you left off.",
        ),
    ),
    "cost": (
        ("How much does {topic} cost?", "What will I pay out of pocket?", "What are your self-pay prices?", "Is {topic} expensive?"),
        (
            "Without insurance, a standard {visit} costs ${price}, and the first {visit} costs ${first_price} because it includes a full assessment.",
            "With insurance, most patients pay a copay of about ${copay} per {visit}, although this depends on your plan.",
            "Patients who pay at the time of service receive a {percent} percent self-pay discount.",
            "Supplies and extras such as {treatment} may be billed separately; your {provider} will tell you before anything is added.",
            "We can give you a written estimate before your first {visit} if you call the billing office at {phone}.",
            "Prices are reviewed once a year and posted at the front desk and on our website.",
            "If cost is a concern, ask about our sliding-scale fee, which is based on household size and income.",
            "We accept cash, checks, debit cards and all major credit cards, as well as health savings and flexible spending accounts.",
            "There is no charge for a short phone call to find out whether {topic} is a good fit for you.",
        ),
    ),
    "insurance": (
        ("Does insurance cover {topic}?", "Which insurance plans do you accept?", "Will my insurance pay for {topic}?", "Is {topic} covered by Medicare?"),
        (
            "We are in network with most major commercial plans in the {city} area, as well as Medicare.",
            "Coverage for {topic} varies from plan to plan, so we check your benefits before your first {visit}.",
            "Some plans require prior authorization for {treatment}, and our staff will submit the request for you.",
            "If we are out of network with your plan, we can give you a detailed receipt to submit for reimbursement.",
            "Your plan may apply the cost of {visits} to your deductible before coverage begins.",
            "Please bring your current insurance card to every {visit}, and tell us right away if your coverage changes.",
            "Medicaid plans are accepted at our {city} location; call {phone} to confirm for our other offices.",
            "If a claim is denied, our billing team will explain why and help you file an appeal if one makes sense.",
            "We cannot guarantee what your insurer will pay, but we will share everything we learn when we verify your benefits.",
        ),
    ),
    "safety": (
        ("Is {topic} safe?", "What are the side effects or risks?", "Are there any risks I should know about?", "What side effects are common?"),
        (
            "{Topic} is generally very safe when it is provided by trained {providers}.",
            "The most common side effects are {risk} and {risk2}, and they usually pass on their own.",
            "Tell your {provider} about any medicines you take, including supplements, because a few of them can change how you respond.",
            "If you are pregnant or think you might be, let us know before your {visit} so we can adjust the plan.",
            "Serious problems are rare, but our staff are trained in emergency response and the clinic keeps emergency equipment on site.",
            "Call us at {phone} if a side effect lasts longer than {risk_days} days or seems to be getting worse.",
            "For anything that feels like an emergency, call 911 or go to the nearest emergency department.",
            "Before we start {treatment}, your {provider} will explain the benefits and risks and answer your questions.",
            "You can pause or stop at any point if something does not feel right.",
        ),
    ),
    "prep": (
        ("How should I prepare for my {visit}?", "What should I bring to my appointment?", "Is there anything I need to do before my {visit}?"),
        (
            "Before your {visit}, please {prep}.",
            "It also helps to {prep2}.",
            "Bring a list of your current medicines, your insurance card and a photo ID.",
            "Eat and drink normally unless your {provider} has told you otherwise.",
            "If you use glasses, hearing aids or a mobility aid, bring them with you.",
            "Write down any questions you have so you do not forget them during the appointment.",
            "If you are coming from work, allow extra time for traffic and parking.",
            "Please leave strong perfumes and colognes at home, because some of our patients have allergies.",
            "Children under {child_age} should come with a parent or guardian who can sign consent forms.",
        ),
    ),
    "after": (
        ("What happens after my {visit}?", "Can I go back to work the same day?", "Can I drive myself home afterwards?", "What should I do after an appointment?"),
        (
            "Most people go straight back to their usual activities after a {visit}.",
            "You may notice {risk} for a short time afterwards, which is normal.",
            "Your {provider} may give you {home} between {visits}.",
            "You can usually drive yourself home, unless your {provider} has told you otherwise before the {visit}.",
            "A visit summary is posted to the patient portal within {summary_days} business days.",
            "If questions come up later, send a message through the portal and a member of the care team will reply within one business day.",
            "We will call you if any test results need attention before your next {visit}.",
            "Keep a short note of how you feel in the days after each {visit}; it helps your {provider} fine-tune the plan.",
        ),
    ),
    "parking": (
        ("Where do I park?", "Is there parking at the clinic?", "How do I get to the clinic?", "Is the clinic easy to reach by bus?"),
        (
            "{clinic} is at {street} in {city}, across from the {landmark}.",
            "Free parking is available in the lot behind the building, and there are accessible spaces near the main entrance.",
            "If the lot is full, the {garage} garage on the next block charges ${parking_fee} for up to three hours, and we validate tickets at the front desk.",
            "Bus routes {bus} and {bus2} stop within a short walk of the entrance.",
            "There is a covered bike rack beside the front door.",
            "Drop-off is allowed in the loading zone in front of the building for up to ten minutes.",
            "Our office is on the {floor} floor, and the elevator is just inside the main lobby.",
            "Ride-share drivers should use the {garage} entrance so they can pull in safely.",
            "Allow a few extra minutes on weekday mornings, when the lot is busiest.",
        ),
    ),
    "hours": (
        ("What are your hours?", "Are you open on weekends?", "When can I book an appointment?"),
        (
            "We are open Monday to Friday from {open_hour} a.m. to {close_hour} p.m.",
            "On {late_day}s we stay open until {late_hour} p.m. for patients who cannot get away during the workday.",
            "Saturday appointments are available {saturday} from {sat_open} a.m. to noon.",
            "The clinic is closed on major public holidays, and our voicemail lists any changes to the schedule.",
            "Phone lines open at {phone_open} a.m., and the quickest way to book is through the patient portal.",
            "Early appointments fill quickly, so we recommend booking two to three weeks ahead.",
            "If you need care outside our hours, the recorded message at {phone} explains where to go.",
            "Same-week appointments are often available for existing patients; call in the morning for the best chance.",
        ),
    ),
    "billing": (
        ("How does billing work?", "Do you offer payment plans?", "When will I get a bill?", "Who do I call about a bill?"),
        (
            "We bill your insurance first, and you receive a statement for any remaining balance about {bill_weeks} weeks after your {visit}.",
            "Copays are collected at check-in.",
            "Payment plans are available for balances over ${plan_min}, with no interest if the balance is paid within {plan_months} months.",
            "Statements can be paid online through the patient portal, by phone or in person at the front desk.",
            "If a statement does not look right, call the billing office at {phone} and we will go through it line by line.",
            "We can send an itemized receipt for health savings account or flexible spending account claims.",
            "Unpaid balances are not sent to collections without at least two reminders and a phone call.",
            "Under the No Surprises Act, self-pay patients can ask for a good faith estimate of expected charges.",
            "Financial assistance is available for patients who qualify; ask the front desk for an application.",
        ),
    ),
    "intake": (
        ("What forms do I need to fill out?", "How do I complete the intake paperwork?", "Can I fill out my forms before the appointment?"),
        (
            "New patients complete {form_count} short forms, including a health history, a consent form and a privacy acknowledgement.",
            "The forms are sent by email and text after you book, and they take about {form_minutes} minutes to finish.",
            "You can also complete them on a tablet in the waiting room if you arrive {early} minutes early.",
            "Please list every medicine and supplement you take, including the dose if you know it.",
            "If someone else helps you make health decisions, add their name so we can speak with them.",
            "Forms are available in English and Spanish, and staff can help you fill them out if you prefer.",
            "Returning patients only need to update the forms once a year or when something changes.",
            "Your answers are kept in your secure medical record and are only seen by your care team.",
            "If you would like paper copies, call {phone} and we will mail them to you.",
        ),
    ),
    "cancellation": (
        ("What is your cancellation policy?", "What if I need to reschedule?", "Is there a fee for missed appointments?"),
        (
            "Please let us know at least {notice} hours ahead if you need to cancel or reschedule.",
            "Appointments cancelled with less notice, or missed without a call, may be charged a ${fee} fee.",
            "The fee is not billed to insurance and is waived for emergencies and bad weather.",
            "You can reschedule online through the patient portal at any time.",
            "After {no_shows} missed appointments in a row, we may ask you to book only same-day openings.",
            "If you are running late, call us; we will see you if we can, or help you find a new time.",
            "We send reminders by text and email {reminder} days before each {visit}.",
            "A waitlist is kept for popular times, so a cancellation gives another patient a chance to be seen.",
        ),
    ),
    "telehealth": (
        ("Can I have a {visit} by video?", "Do you offer telehealth?", "Can follow-up appointments be done from home?"),
        (
            "Some follow-up {visits} can be done by secure video, but {treatment} has to happen in person.",
            "Video {visits} use the patient portal, so there is nothing extra to install on a computer.",
            "You will need a quiet, private room and a reliable internet connection.",
            "Most insurance plans cover video {visits} at the same rate as office visits, though it is worth checking your plan.",
            "If the video connection drops, your {provider} will call you by phone to finish the appointment.",
            "Telehealth is only available to patients who are physically in the state during the call.",
            "The first {visit} is always in person so that your {provider} can do a full assessment.",
            "Ask the front desk which of your upcoming {visits} could be switched to video.",
        ),
    ),
    "candidates": (
        ("Who is a good candidate for {topic}?", "Is {topic} right for me?", "Who should not have {topic}?"),
        (
            "{Topic} can help adults and older children who live with {condition} or {condition2}.",
            "People who are motivated to take part in their own care tend to get the most from it.",
            "It may not be the right choice for everyone with a serious heart or lung condition, so your {provider} will review your history first.",
            "You do not need a diagnosis to get started; many patients come in simply because something is not working the way it used to.",
            "If we think another service would serve you better, we will say so and help arrange a referral.",
            "Age alone is rarely a reason to rule someone out.",
            "A short screening call can help you decide whether an appointment makes sense.",
            "Your primary care provider can also help you decide whether {topic} is worth trying.",
        ),
    ),
    "results": (
        ("How soon will I see results?", "How will I know if it is working?", "What results can I expect?"),
        (
            "{results}",
            "Progress is rarely a straight line, and good weeks and slower weeks are both normal.",
            "Your {provider} measures progress at regular check-ins so that changes are based on more than a feeling.",
            "Results depend on many things, including how often you come in and how closely you can follow the home plan.",
            "Nobody can promise a particular outcome, but we will be honest with you about what is realistic.",
            "If you are not seeing the change you hoped for after {review_every} {visits}, we will talk about other options.",
            "Many patients find it helpful to keep a simple log of symptoms between {visits}.",
            "Your {provider} will explain which changes to look for first and which take longer.",
        ),
    ),
    "records": (
        ("How do I get copies of my records?", "Is my information kept private?", "Who can see my health information?"),
        (
            "Your records are kept in a secure electronic system that meets federal privacy rules.",
            "You can see visit notes, test results and invoices in the patient portal at any time.",
            "To request a full copy of your records, fill out a release form at the front desk or through the portal.",
            "Copies are usually ready within {records_days} business days.",
            "We never share your information with an employer or family member without your written permission.",
            "If you want records sent to another clinic, we can send them directly at no charge.",
            "Records are kept for at least {retain_years} years after your last {visit}.",
            "Questions about privacy can be sent to our privacy officer at {phone}.",
        ),
    ),
    "children": (
        ("Do you see children?", "Can my child come with me to my appointment?", "At what age can children be seen?"),
        (
            "We see children from age {child_age} with a parent or legal guardian present at the first {visit}.",
            "Our {providers} adapt {treatment} for younger patients and explain each step in simple words.",
            "If you need to bring your child to your own appointment, please bring someone who can stay with them in the waiting room.",
            "The waiting room has a small play corner with books and quiet toys.",
            "Teenagers may have part of the {visit} on their own, which gives them a chance to ask questions privately.",
            "School notes are available at the front desk for children who miss class for an appointment.",
            "Pediatric appointments are often available right after school hours.",
            "Parents are always welcome to ask how they can support their child between {visits}.",
        ),
    ),
    "accessibility": (
        ("Is the clinic wheelchair accessible?", "Do you offer interpreters?", "What if I need help getting around the clinic?"),
        (
            "The building has step-free access, automatic doors and accessible restrooms on every floor.",
            "Wheelchairs are available at the entrance if you need help getting from the car to the treatment room.",
            "Free interpreter services are available in person or by video for more than {languages} languages.",
            "Sign language interpreters can be booked with at least {interp_days} days of notice.",
            "Service animals are welcome throughout the clinic.",
            "If you need a longer appointment because of a disability, tell us when you book and we will schedule extra time.",
            "Large-print forms and assistive listening devices are available at the front desk.",
            "Tell us about any other needs before your {visit} so that we can have everything ready.",
        ),
    ),
    "referral": (
        ("Do I need a referral?", "How do I book an appointment?", "How do I become a new patient?"),
        (
            "You can book directly by calling {phone} or using the online scheduler on our website.",
            "Some insurance plans require a referral from your primary care provider before they will pay for {topic}.",
            "If you have a referral, ask your doctor's office to send it electronically before your first {visit}.",
            "New patients are usually seen within {wait_weeks} weeks, and we keep a cancellation list for sooner openings.",
            "When you call, have your insurance card and date of birth ready.",
            "We will send a confirmation by text or email with directions and your intake forms.",
            "Existing patients can book follow-ups through the patient portal at any hour.",
            "If you are unsure whether you need a referral, our front desk can check with your plan for you.",
        ),
    ),
    "providers": (
        ("Who will I see?", "What training do your {providers} have?", "Can I choose my {provider}?"),
        (
            "All of our {providers} are licensed in the state and complete continuing education every year.",
            "Most of our team have more than {exp_years} years of experience with {topic}.",
            "You will usually see the same {provider} at each {visit}, which helps with continuity.",
            "If you prefer a {provider} of a particular gender, tell us when you book and we will do our best.",
            "Students in training sometimes observe {visits}, but only with your permission.",
            "Our {providers} work closely with physicians, nurses and other specialists when your care needs it.",
            "Short biographies of every {provider} are posted on our website.",
            "You can ask to switch to a different {provider} at any time, no explanation needed.",
        ),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class FillerDocument:
    """One generated page: its file name, Markdown text and how many chunks it makes."""

    name: str
    text: str
    chunks: int
    topic: str


def check_clean(text: str) -> None:
    """Refuse text that mentions the clinic's own subject.

    Raises:
        ValueError: the text matches :data:`FORBIDDEN` (the message names the match).
    """
    match = FORBIDDEN.search(text)
    if match:
        raise ValueError(f"filler text mentions {match.group(0)!r}: {text[:80]!r}...")


def generate_documents(target_chunks: int, seed: int = 0) -> list[FillerDocument]:
    """Whole pages, in order, until they make at least ``target_chunks`` chunks.

    Page ``i`` depends only on ``(seed, i)``: a smaller set is a prefix of a larger one.
    """
    docs: list[FillerDocument] = []
    total = 0
    for doc in iter_documents(seed):
        if total >= target_chunks:
            break
        docs.append(doc)
        total += doc.chunks
    return docs


def iter_documents(seed: int = 0) -> Iterator[FillerDocument]:
    """Pages 0, 1, 2, ... for ``seed``, forever."""
    index = 0
    while True:
        yield make_document(index, seed)
        index += 1


def make_document(index: int, seed: int = 0) -> FillerDocument:
    """Page ``index`` for ``seed`` (checked against :data:`FORBIDDEN`)."""
    rng = random.Random(f"kapbot-filler:{seed}:{index}")
    topic = rng.choice(TOPICS)
    values = _page_values(rng, topic)
    title = _fill(rng.choice(TITLES), values, rng, topic)
    kinds = rng.sample(sorted(SECTIONS), rng.randint(*SECTIONS_PER_PAGE))
    parts = [
        "---",
        f'title: "{title}"',
        f'publisher: "{values["clinic"]}"',
        "---",
        "",
        f"# {title}",
        "",
        _body(rng, (*INTRO, *SECTIONS["overview"][1]), values, topic),
    ]
    for kind in kinds:
        headings, sentences = SECTIONS[kind]
        heading = _fill(rng.choice(headings), values, rng, topic)
        parts += ["", f"## {heading}", "", _body(rng, sentences, values, topic)]
    text = "\n".join(parts) + "\n"
    check_clean(text)
    name = f"filler-{index:06d}-{topic.slug}.md"
    return FillerDocument(name=name, text=text, chunks=1 + len(kinds), topic=topic.name)


def write_documents(docs: list[FillerDocument], folder: Path) -> None:
    """Write the pages into ``folder`` and delete any other filler page there.

    Unchanged files are left alone, so their modification times stay as they were.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {d.name for d in docs}
    for stale in folder.glob("filler-*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for doc in docs:
        path = folder / doc.name
        if not path.is_file() or path.read_text(encoding="utf-8") != doc.text:
            path.write_text(doc.text, encoding="utf-8")


def _page_values(rng: random.Random, topic: Topic) -> dict[str, str]:
    """The facts one page states (a clinic, prices, hours), consistent within the page."""
    place = rng.choice(PLACES)
    clinic = f"{place} {rng.choice(topic.items('clinic_words'))}"
    lo, hi = topic.minutes
    price = rng.randrange(topic.price[0], topic.price[1] + 1, 5) if topic.price[1] else 0
    street = rng.choice(STREETS)
    values = {
        "topic": topic.name,
        "Topic": topic.name[0].upper() + topic.name[1:],
        "TopicTitle": topic.name.title(),
        "clinic": clinic,
        "city": rng.choice([c for c in PLACES if c != place]),
        "provider": topic.provider,
        "providers": _plural(topic.provider),
        "visit": topic.visit,
        "Visit": topic.visit.title(),
        "visits": topic.visit + "s",
        "results": topic.results,
        "home": topic.home,
        "minutes": str(lo),
        "minutes2": str(max(hi, lo + 5)),
        "first_minutes": str(hi + rng.choice((15, 20, 30))),
        "total_minutes": str(hi + rng.choice((15, 20, 25, 30))),
        "count_phrase": (
            f"a single {topic.visit}"
            if topic.course[1] <= 1
            else f"between {topic.course[0]} and {topic.course[1]} {topic.visit}s"
        ),
        "price": str(max(price, 25)),
        "first_price": str(max(price, 25) + rng.choice((20, 30, 40, 50, 60))),
        "copay": str(rng.choice((20, 25, 30, 35, 40, 45, 50))),
        "percent": str(rng.choice((10, 15, 20, 25))),
        "phone": f"555-01{rng.randint(0, 99):02d}",
        "street": f"{rng.randint(100, 9899)} {street}",
        "garage": rng.choice([s for s in STREETS if s != street]),
        "landmark": rng.choice(LANDMARKS),
        "parking_fee": str(rng.choice((2, 3, 4, 5, 6))),
        "bus": str(rng.randint(1, 49)),
        "bus2": str(rng.randint(50, 99)),
        "floor": rng.choice(("ground", "second", "third", "fourth")),
        "open_hour": str(rng.choice((7, 8, 9))),
        "close_hour": str(rng.choice((4, 5, 6))),
        "late_day": rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday")),
        "late_hour": str(rng.choice((7, 8))),
        "saturday": rng.choice(("most weeks", "every other week", "twice a month")),
        "sat_open": str(rng.choice((8, 9))),
        "phone_open": str(rng.choice((7, 8))),
        "years": str(rng.randint(8, 40)),
        "exp_years": str(rng.randint(5, 15)),
        "early": str(rng.choice((10, 15, 20))),
        "delay": str(rng.choice((10, 15, 20))),
        "frequency": rng.choice(("once a week", "twice a week", "every other week")),
        "review_every": str(rng.choice((3, 4, 5, 6))),
        "risk_days": str(rng.choice((2, 3, 5, 7))),
        "summary_days": str(rng.choice((1, 2, 3))),
        "child_age": str(rng.choice((12, 14, 16, 18))),
        "bill_weeks": str(rng.choice((3, 4, 5, 6))),
        "plan_min": str(rng.choice((100, 150, 200, 250))),
        "plan_months": str(rng.choice((3, 6, 12))),
        "form_count": rng.choice(("three", "four", "five")),
        "form_minutes": str(rng.choice((10, 15, 20))),
        "notice": str(rng.choice((24, 48))),
        "fee": str(rng.choice((25, 35, 40, 50, 75))),
        "no_shows": rng.choice(("two", "three")),
        "reminder": rng.choice(("two", "three")),
        "records_days": str(rng.choice((5, 7, 10, 14))),
        "retain_years": str(rng.choice((7, 10))),
        "languages": str(rng.choice((100, 150, 200))),
        "interp_days": str(rng.choice((2, 3, 5))),
        "wait_weeks": rng.choice(("one to two", "two to three", "two to four")),
    }
    return values


def _plural(noun: str) -> str:
    return noun[:-4] + "wives" if noun.endswith("wife") else noun + "s"


def _fill(template: str, values: Mapping[str, str], rng: random.Random, topic: Topic) -> str:
    """A template with the page's values and a fresh pick of treatments, conditions, risks."""
    treatments, conditions = topic.items("treatments"), topic.items("conditions")
    risks, prep = topic.items("risks"), topic.items("prep")
    t1, t2 = rng.sample(treatments, 2)
    c1, c2 = rng.sample(conditions, 2)
    r1, r2 = rng.sample(risks, 2)
    p1, p2 = rng.sample(prep, 2)
    picks = {
        "treatment": t1,
        "treatment2": t2,
        "condition": c1,
        "condition2": c2,
        "risk": r1,
        "risk2": r2,
        "prep": p1,
        "prep2": p2,
    }
    text = template.format_map({**values, **picks})
    return text[0].upper() + text[1:]


def _body(
    rng: random.Random, sentences: tuple[str, ...], values: Mapping[str, str], topic: Topic
) -> str:
    """One paragraph of BODY_MIN-BODY_MAX characters: the section's sentences in a random
    order, topped up from the generic ones when they run short."""
    target = rng.randint(BODY_MIN + 20, BODY_MAX - 140)
    pool = rng.sample(sentences, len(sentences)) + rng.sample(GENERIC, len(GENERIC))
    chosen: list[str] = []
    size = -1
    for template in pool:
        sentence = _fill(template, values, rng, topic)
        if size + 1 + len(sentence) > BODY_MAX:
            continue
        chosen.append(sentence)
        size += 1 + len(sentence)
        if size >= target:
            break
    if size < BODY_MIN:  # the pools are far longer than BODY_MIN; a failure is a bug here
        raise ValueError(f"filler section for {topic.name} came out at {size} characters")
    return " ".join(_join_some(rng, chosen, values))


def _join_some(rng: random.Random, sentences: list[str], values: Mapping[str, str]) -> list[str]:
    """Join about half the sentences to the one before with a semicolon (same length).

    The templates are short FAQ sentences; joined, they have about as many sentences per
    chunk as the real corpus, so kapbot's per-sentence records grow with filler as they
    would with real pages.
    """
    proper = (values["clinic"], values["city"], *_PROPER_STARTS)
    out: list[str] = []
    joined_last = False
    for sentence in sentences:
        first = sentence.split(" ", 1)[0]
        joinable = (
            out
            and not joined_last
            and out[-1].endswith(".")
            and not out[-1].endswith(".m.")
            and not sentence.startswith(proper)
            and not any(c.isupper() for c in first[1:])
            and rng.random() < JOIN_PROBABILITY
        )
        if joinable:
            out[-1] = f"{out[-1][:-1]}; {sentence[0].lower()}{sentence[1:]}"
        else:
            out.append(sentence)
        joined_last = bool(joinable)
    return out
