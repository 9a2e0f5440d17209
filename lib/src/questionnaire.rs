//! The questionnaire a family fills in, parsed into typed values.
//!
//! Parsing walks the JSON by hand instead of deriving `Deserialize` because
//! the API must report *every* problem at once, each with its JSON path
//! (`section_3_medical_needs.q8_care_types[1]`) and a plain message; serde
//! stops at the first. Enumerated answers become enums so nothing downstream
//! matches on strings.
//!
//! Forms still in circulation are accepted: distances written `15km` or
//! `within_15km`, and the older section 3 that asked `q12_special_equipment`
//! and numbered the age question `q13_age_range` (later questions were then
//! numbered one higher, so sections 4–5 look fields up by their name after
//! the `qN_` prefix). Enum values are matched ignoring case and surrounding
//! spaces.
//!
//! Everything a client sends is bounded before it is stored: a list holds
//! each allowed value at most once (so never more items than there are
//! values), free text has a length cap and no control characters, and an
//! error quotes at most a short, escaped part of the value it refuses.
//!
//! The client's JSON is parsed once, at the HTTP door (`POST /start` and
//! the synchronous route), into a [`Questionnaire`]; the engine stores it in
//! its canonical form (`to_stored_json`, the serde types of `stored`), and
//! the first round reads that back with [`Questionnaire::from_stored`], a
//! typed decode that validates nothing a second time.
//!
//! Section 1 holds personal data (names, e-mail, phones). Its `Debug` is
//! redacted so a stray `{:?}` cannot put it into logs.

mod stored;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `section_3_medical_needs.q8_care_types[1]`;
    /// `$` for the questionnaire itself.
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Every problem found in a questionnaire (never empty when returned).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidationErrors {
    /// The problems, in document order.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "questionnaire is invalid: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// An enumerated answer, as the parser sees it.
trait Answer: Copy + PartialEq + fmt::Display + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// Parses a wire name or alias.
    fn parse(s: &str) -> Option<Self>;
    /// The wire names, for error messages.
    fn expected() -> String;
}

/// Declares an enumerated answer: its wire names (the first is canonical,
/// the rest are accepted aliases), `parse`, `as_str`, `Serialize` (the
/// canonical name) and `Deserialize` (what `parse` accepts).
macro_rules! answer_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal $(| $alias:literal)*,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in questionnaire order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The canonical wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Parses a wire name or accepted legacy alias, ignoring case
            /// and surrounding spaces.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim().to_ascii_lowercase();
                match s.as_str() {
                    $($wire $(| $alias)* => Some($name::$variant),)+
                    _ => None,
                }
            }

            fn expected() -> String {
                [$($wire,)+].join(", ")
            }
        }

        impl Answer for $name {
            const ALL: &'static [Self] = $name::ALL;
            fn parse(s: &str) -> Option<Self> {
                $name::parse(s)
            }
            fn expected() -> String {
                $name::expected()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format_args!(
                        "'{}' is not one of: {}",
                        quote(&s),
                        $name::expected()
                    ))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

answer_enum! {
    /// q6: how far from the preferred city the home may be.
    MaxDistance {
        /// Within 5 km.
        Within5Km => "within_5km" | "5km" | "5_km",
        /// Within 10 km.
        Within10Km => "within_10km" | "10km" | "10_km",
        /// Within 15 km.
        Within15Km => "within_15km" | "15km" | "15_km",
        /// Within 20 km.
        Within20Km => "within_20km" | "20km" | "20_km",
        /// Within 30 km.
        Within30Km => "within_30km" | "30km" | "30_km",
        /// Distance does not matter.
        NotImportant => "distance_not_important" | "not_important",
    }
}

impl MaxDistance {
    /// The radius in km; `None` when distance does not matter.
    pub fn km(self) -> Option<f64> {
        Some(match self {
            Self::Within5Km => 5.0,
            Self::Within10Km => 10.0,
            Self::Within15Km => 15.0,
            Self::Within20Km => 20.0,
            Self::Within30Km => 30.0,
            Self::NotImportant => return None,
        })
    }
}

answer_enum! {
    /// q7: monthly budget band and who pays (`_self`: self-funded,
    /// `_local`: local-authority funded).
    Budget {
        /// Under £3,000 a month, self-funded.
        Under3000Self => "under_3000_self",
        /// Under £3,000 a month, local authority.
        Under3000Local => "under_3000_local",
        /// £3,000–5,000 a month, self-funded.
        From3000To5000Self => "3000_5000_self",
        /// £3,000–5,000 a month, local authority.
        From3000To5000Local => "3000_5000_local",
        /// £5,000–7,000 a month, self-funded.
        From5000To7000Self => "5000_7000_self",
        /// £5,000–7,000 a month, local authority.
        From5000To7000Local => "5000_7000_local",
        /// Over £7,000 a month, self-funded.
        Over7000Self => "over_7000_self",
        /// Over £7,000 a month, local authority.
        Over7000Local => "over_7000_local",
        /// The family wants advice on funding: no budget filter.
        NeedGuidance => "need_budget_guidance",
    }
}

answer_enum! {
    /// q8: the kind of care needed.
    CareType {
        /// Residential (personal) care.
        GeneralResidential => "general_residential",
        /// Nursing care (a registered nurse on site).
        MedicalNursing => "medical_nursing",
        /// Specialist dementia care.
        SpecialisedDementia => "specialised_dementia",
        /// A short respite stay (the client's `types.ts`): only homes that
        /// take respite residents can help.
        TemporaryRespite => "temporary_respite",
    }
}

answer_enum! {
    /// q9: medical conditions.
    MedicalCondition {
        /// Dementia or Alzheimer's.
        DementiaAlzheimers => "dementia_alzheimers",
        /// Diabetes.
        Diabetes => "diabetes",
        /// Heart conditions.
        HeartConditions => "heart_conditions",
        /// Mobility problems.
        MobilityProblems => "mobility_problems",
        /// None serious.
        NoSeriousMedical => "no_serious_medical",
    }
}

answer_enum! {
    /// q10: mobility.
    Mobility {
        /// Fully mobile.
        FullyMobile => "fully_mobile",
        /// Uses walking aids.
        WalkingAids => "walking_aids",
        /// Uses a wheelchair sometimes.
        WheelchairSometimes => "wheelchair_sometimes",
        /// Uses a wheelchair all the time.
        WheelchairPermanent => "wheelchair_permanent",
    }
}

answer_enum! {
    /// q11: medication. Two scales are in circulation: the client's
    /// `types.ts` (`none` … `many_complex_routine`) and the original
    /// validator's newer one (`independent`, `reminders_needed`,
    /// `full_administration_required`); both are accepted as they are.
    Medication {
        /// No regular medication.
        None => "none",
        /// One or two simple medicines.
        Simple => "simple_1_2",
        /// Several, on a simple routine.
        SeveralSimpleRoutine => "several_simple_routine",
        /// Many, on a complex routine.
        ManyComplexRoutine => "many_complex_routine",
        /// Manages their own medication.
        Independent => "independent",
        /// Needs reminders to take it.
        RemindersNeeded => "reminders_needed",
        /// Staff must give every dose.
        FullAdministrationRequired => "full_administration_required",
    }
}

impl Medication {
    /// Whether the medication needs trained staff on every shift: a complex
    /// routine, or staff giving every dose. Matching weighs nursing for it
    /// (a registered nurse manages a complex or fully administered regime;
    /// reminders and simple routines are within residential care).
    pub(crate) fn needs_nursing_oversight(self) -> bool {
        matches!(
            self,
            Self::ManyComplexRoutine | Self::FullAdministrationRequired
        )
    }
}

answer_enum! {
    /// q12 (legacy q13): age range.
    AgeRange {
        /// 65–74.
        From65To74 => "65_74",
        /// 75–84.
        From75To84 => "75_84",
        /// 85–94.
        From85To94 => "85_94",
        /// 95 and over.
        NinetyFivePlus => "95_plus",
    }
}

answer_enum! {
    /// q13: falls.
    FallHistory {
        /// No falls.
        NoFalls => "no_falls_occurred",
        /// One or two falls without serious injury.
        OneOrTwoMinor => "1_2_no_serious_injuries",
        /// Three or more, or a serious injury.
        ThreePlusOrSerious => "3_plus_or_serious_injuries",
        /// Judged at high risk of falling.
        HighRisk => "high_risk_of_falling",
    }
}

impl FallHistory {
    /// Whether this counts as a high fall risk for scoring.
    pub(crate) fn is_high_risk(self) -> bool {
        matches!(self, Self::ThreePlusOrSerious | Self::HighRisk)
    }
}

answer_enum! {
    /// q14: allergies.
    Allergy {
        /// None.
        NoAllergies => "no_allergies",
        /// Food allergies.
        FoodAllergies => "food_allergies",
        /// Medication allergies.
        MedicationAllergies => "medication_allergies",
        /// Environmental allergies (pollen, dust, pets).
        EnvironmentalAllergies => "environmental_allergies",
    }
}

answer_enum! {
    /// q15: dietary requirements.
    Diet {
        /// None.
        NoSpecialRequirements => "no_special_requirements",
        /// Diabetic diet.
        DiabeticDiet => "diabetic_diet",
        /// Puréed or soft food.
        PureedSoftFood => "pureed_soft_food",
        /// Vegetarian or vegan.
        VegetarianVegan => "vegetarian_vegan",
    }
}

answer_enum! {
    /// q16: social personality.
    Social {
        /// Very sociable.
        VerySociable => "very_sociable",
        /// Moderately sociable; also the legacy `social` (the older form
        /// asked only "social or quiet", which says nothing of "very").
        ModeratelySociable => "moderately_sociable" | "social",
        /// Prefers quiet.
        PrefersQuiet => "prefers_quiet",
    }
}

answer_enum! {
    /// q17: when a place is needed.
    Timeline {
        /// Within two weeks.
        Urgent2Weeks => "urgent_2_weeks",
        /// Next month.
        NextMonth => "next_month",
        /// In two to three months.
        Planning2To3Months => "planning_2_3_months",
        /// Just exploring, six months or more.
        Exploring6PlusMonths => "exploring_6_plus_months",
    }
}

answer_enum! {
    /// q18: the four priorities the family ranks.
    Priority {
        /// Medical care and safety.
        MedicalSafety => "medical_safety",
        /// Quality and reputation.
        QualityReputation => "quality_reputation",
        /// Cost.
        CostFinancial => "cost_financial",
        /// Location and social life.
        LocationSocial => "location_social",
        /// Comfort and amenities (rooms, facilities, food).
        ComfortAmenities => "comfort_amenities",
    }
}

/// Section 1: who is asking and who the care is for. Personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Contact {
    /// q1, e.g. `Contact: Jane Doe; Patient: John Doe`.
    pub names: String,
    /// q2.
    pub email: Option<String>,
    /// q3.
    pub phone: Option<String>,
    /// q4.
    pub emergency_contact: Option<String>,
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Contact { <redacted> }")
    }
}

/// Section 2: where and at what cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationBudget {
    /// q4 (optional): a postcode, more precise than the city.
    pub postcode: Option<String>,
    /// q5: the city to search around.
    pub preferred_city: String,
    /// q6.
    pub max_distance: MaxDistance,
    /// q7.
    pub budget: Budget,
}

/// Section 3: care and medical needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MedicalNeeds {
    /// q8 (at least one).
    pub care_types: Vec<CareType>,
    /// q9 (at least one).
    pub conditions: Vec<MedicalCondition>,
    /// q10.
    pub mobility: Mobility,
    /// q11.
    pub medication: Medication,
    /// q12 (legacy q13).
    pub age_range: AgeRange,
    /// Legacy q12: special equipment, free text values as sent.
    pub special_equipment: Vec<String>,
}

/// Section 4: safety and special needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetyNeeds {
    /// q13.
    pub fall_history: FallHistory,
    /// q14 (may be empty: the original validator allowed that).
    pub allergies: Vec<Allergy>,
    /// q15 (may be empty).
    pub dietary: Vec<Diet>,
    /// q16.
    pub social: Social,
}

/// Section 6: the family's ranking of priorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityRanking {
    /// Most important first; each priority at most once.
    pub order: Vec<Priority>,
    /// Weight per entry of `order`, same length. When the questionnaire gave
    /// none, rank weights 40/30/20/10 are used.
    pub weights: Vec<u32>,
}

/// A validated questionnaire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Questionnaire {
    /// Free description of the case (optional, any language).
    pub profile_description: Option<String>,
    /// Section 1 (redacted in `Debug`).
    pub contact: Contact,
    /// Section 2.
    pub location: LocationBudget,
    /// Section 3.
    pub medical: MedicalNeeds,
    /// Section 4.
    pub safety: SafetyNeeds,
    /// Section 5: q17.
    pub timeline: Timeline,
    /// Section 6 (optional).
    pub priorities: Option<PriorityRanking>,
}

const S1: &str = "section_1_contact_emergency";
const S2: &str = "section_2_location_budget";
const S3: &str = "section_3_medical_needs";
const S4: &str = "section_4_safety_special_needs";
const S5: &str = "section_5_timeline";
const S6: &str = "section_6_priorities";

impl Questionnaire {
    /// Parses and validates the questionnaire object, reporting every
    /// problem at once.
    pub fn parse(value: &Value) -> Result<Questionnaire, ValidationErrors> {
        let mut p = Parser::default();
        let Some(root) = value.as_object() else {
            p.error("$", "the questionnaire must be a JSON object");
            return Err(p.finish_err());
        };

        let profile_description = p.opt_string(
            root,
            "profile_description",
            "profile_description",
            MAX_DESCRIPTION_CHARS,
        );

        let contact = p.contact(root);
        let location = p.location(root);
        let medical = p.medical(root);
        let safety = p.safety(root);
        let timeline = p
            .section(root, S5)
            .and_then(|s| p.one_named::<Timeline>(s, S5, "q17_placement_timeline"));
        let priorities = p.priority_section(root);

        match (contact, location, medical, safety, timeline) {
            (Some(contact), Some(location), Some(medical), Some(safety), Some(timeline))
                if p.errors.is_empty() =>
            {
                Ok(Questionnaire {
                    profile_description,
                    contact,
                    location,
                    medical,
                    safety,
                    timeline,
                    priorities,
                })
            }
            _ => Err(p.finish_err()),
        }
    }

    /// The questionnaire as the service stores it: the current form, every
    /// answer by its canonical wire name, and only what the service reads.
    ///
    /// Left out: the contact's own name, e-mail, phone and the emergency
    /// contact (section 1 keeps `q1_names` as `Patient: <name>`, the one
    /// part the report shows), `profile_description` (free text the service
    /// never reads) and every field it does not know. Legacy keys become
    /// current ones (`q13_age_range` → `q12_age_range`, renumbered section 4
    /// keys, q16 from section 5). Reading the result back
    /// ([`Questionnaire::from_stored`]) gives an equal questionnaire except
    /// for those left-out fields, so a resumed job matches the very same
    /// way. The job keeps this JSON (`Job::questionnaire`), byte for byte
    /// what the service has always stored.
    pub(crate) fn to_stored_json(&self) -> Value {
        // Plain data (strings, numbers, lists, maps with string keys):
        // it always serializes.
        serde_json::to_value(stored::Stored::of(self)).unwrap_or(Value::Null)
    }

    /// Reads a questionnaire back from its stored form (what
    /// `Questionnaire::to_stored_json` wrote) by a typed decode: each section
    /// and answer by its canonical name, no second validation. Gives the
    /// questionnaire [`Questionnaire::parse`] gives for the same JSON.
    ///
    /// An error is a stored record the service did not write (corruption,
    /// or a version skew between instances): the caller reports a corrupt
    /// job.
    pub fn from_stored(value: &Value) -> Result<Questionnaire, serde_json::Error> {
        stored::Stored::deserialize(value).map(stored::Stored::into_questionnaire)
    }

    /// The name of the person who needs care, from q1 (`Patient: …`), or
    /// "the client" when it cannot be told.
    pub(crate) fn client_name(&self) -> String {
        patient_name(&self.contact.names).unwrap_or_else(|| "the client".to_owned())
    }

    /// Whether dementia care is needed (asked for as care type or condition).
    pub(crate) fn needs_dementia_care(&self) -> bool {
        self.medical
            .care_types
            .contains(&CareType::SpecialisedDementia)
            || self
                .medical
                .conditions
                .contains(&MedicalCondition::DementiaAlzheimers)
    }

    /// Whether a place is needed within two weeks.
    pub(crate) fn is_urgent(&self) -> bool {
        self.timeline == Timeline::Urgent2Weeks
    }
}

/// The stored q1: the patient's name alone, labelled when it needs to be.
fn stored_names(names: &str) -> String {
    match patient_name(names) {
        // A bare name is read back as the patient's; one with a
        // separator needs the label (it is then short enough for it:
        // it came out of a labelled q1 under the length cap).
        Some(name) if name.contains([':', ';']) => format!("Patient: {name}"),
        Some(name) => name,
        // Still non-empty (q1 is required) and still names nobody.
        None => "Patient:".to_owned(),
    }
}

/// `Contact: A; Patient: B` → `B`. An unlabelled single name is taken as is.
fn patient_name(names: &str) -> Option<String> {
    let clean = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    for part in names.split([';', '\n']) {
        if let Some((label, name)) = part.split_once(':') {
            let label = label.trim().to_ascii_lowercase();
            if matches!(label.as_str(), "patient" | "resident" | "client") {
                if let Some(n) = clean(name) {
                    return Some(n);
                }
            }
        }
    }
    if !names.contains(':') && !names.contains(';') {
        return clean(names);
    }
    None
}

fn join(section: &str, field: &str) -> String {
    format!("{section}.{field}")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Collects errors while walking the document.
#[derive(Default)]
struct Parser {
    errors: Vec<FieldError>,
}

/// Longest free-text answer (names, e-mail, phone, postcode, city), in
/// characters. Every such answer on the form fits in a line; a longer one is
/// a client bug or abuse, and would be stored with the job and copied into
/// its report and logs.
const MAX_TEXT_CHARS: usize = 500;

/// Longest `profile_description`, in characters: a few paragraphs.
const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// Most bytes the stored form ([`Questionnaire::to_stored_json`]) can take.
/// The per-field caps bound it already (five text fields and twenty
/// equipment lines of at most 500 characters, 4 bytes each in UTF-8, plus
/// the enumerated answers: under 60 KiB); a test holds the worst case
/// under this, and the engine refuses anything over it rather than store it.
pub(crate) const MAX_STORED_BYTES: usize = 64 * 1024;

/// Most items of the legacy free-text `q12_special_equipment` list (the
/// paper form had a handful of lines for it).
const MAX_SPECIAL_EQUIPMENT: usize = 20;

/// How much of a rejected value an error message quotes, in characters.
/// Error answers never echo a huge input back.
const QUOTED_CHARS: usize = 40;

/// `s` for an error message: at most [`QUOTED_CHARS`] characters (then
/// `…`), control characters escaped (`\0`, `\n`) so a message stays one
/// readable line in any log.
fn quote(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == QUOTED_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl Parser {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn finish_err(self) -> ValidationErrors {
        ValidationErrors {
            errors: self.errors,
        }
    }

    fn section<'v>(
        &mut self,
        root: &'v Map<String, Value>,
        name: &str,
    ) -> Option<&'v Map<String, Value>> {
        match root.get(name) {
            Some(Value::Object(m)) => Some(m),
            None | Some(Value::Null) => {
                self.error(name, "this section is required");
                None
            }
            Some(other) => {
                self.error(name, format!("must be an object, not {}", type_name(other)));
                None
            }
        }
    }

    /// Finds a field by exact key or, for renumbered legacy forms, by its
    /// name after the `qN_` prefix. Returns the key actually used.
    fn lookup<'v>(section: &'v Map<String, Value>, key: &str) -> Option<(String, &'v Value)> {
        if let Some(v) = section.get(key) {
            return Some((key.to_owned(), v));
        }
        let name = strip_q(key)?;
        section
            .iter()
            .find(|(k, _)| k.as_str() != key && strip_q(k) == Some(name))
            .map(|(k, v)| (k.clone(), v))
    }

    /// A free-text answer, trimmed: at most `max` characters and no control
    /// characters but line breaks and tabs. NUL in particular cannot be
    /// stored in a PostgreSQL text column (the operators' database) and
    /// truncates the string in C-based tools (PDF renderers, mail); no
    /// honest answer contains one.
    fn text(&mut self, path: &str, s: &str, max: usize) -> Option<String> {
        let s = s.trim();
        let chars = s.chars().count();
        if chars > max {
            self.error(
                path,
                format!("is too long: {chars} characters, at most {max}"),
            );
            return None;
        }
        if let Some(c) = s
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            self.error(
                path,
                format!(
                    "must not contain control characters (found U+{:04X})",
                    u32::from(c)
                ),
            );
            return None;
        }
        Some(s.to_owned())
    }

    fn opt_string(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        max: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => self.text(path, s, max).filter(|s| !s.is_empty()),
            Some(other) => {
                self.error(path, format!("must be a string, not {}", type_name(other)));
                None
            }
        }
    }

    fn req_string(&mut self, obj: &Map<String, Value>, section: &str, key: &str) -> Option<String> {
        let path = join(section, key);
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.error(&path, "is required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(&path, "must not be empty");
                None
            }
            Some(Value::String(s)) => self.text(&path, s, MAX_TEXT_CHARS),
            Some(other) => {
                self.error(&path, format!("must be a string, not {}", type_name(other)));
                None
            }
        }
    }

    fn enum_value<T: Answer>(&mut self, path: &str, value: &Value) -> Option<T> {
        match value {
            Value::String(s) => {
                let parsed = T::parse(s);
                if parsed.is_none() {
                    self.error(
                        path,
                        format!("'{}' is not one of: {}", quote(s), T::expected()),
                    );
                }
                parsed
            }
            other => {
                self.error(
                    path,
                    format!(
                        "must be a string, one of: {}; not {}",
                        T::expected(),
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn one<T: Answer>(&mut self, obj: &Map<String, Value>, section: &str, key: &str) -> Option<T> {
        let path = join(section, key);
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.error(&path, format!("is required (one of: {})", T::expected()));
                None
            }
            Some(v) => self.enum_value(&path, v),
        }
    }

    /// Like [`Parser::one`] but tolerant of renumbered legacy keys.
    fn one_named<T: Answer>(
        &mut self,
        obj: &Map<String, Value>,
        section: &str,
        key: &str,
    ) -> Option<T> {
        match Self::lookup(obj, key) {
            Some((found, _)) => self.one(obj, section, &found),
            None => self.one(obj, section, key),
        }
    }

    /// A list of enumerated answers, each at most once.
    ///
    /// So a list never has more items than there are allowed values: a
    /// longer one is refused with one error for the whole list, before its
    /// items are looked at. Without that bound a 256 KiB body held 100,000
    /// copies of a valid value (a job stored and carried through every step
    /// for nothing) or 100,000 invalid items, each answered with its own
    /// error (an answer about 100 times the size of the request).
    fn list<T: Answer>(
        &mut self,
        obj: &Map<String, Value>,
        section: &str,
        key: &str,
        allow_empty: bool,
    ) -> Option<Vec<T>> {
        let path = join(section, key);
        let items = self.list_array::<T>(obj.get(key), &path)?;
        if items.is_empty() && allow_empty {
            return Some(Vec::new());
        }
        if !self.list_length_fits::<T>(items.len(), &path) {
            return None;
        }
        self.distinct_answers(items, &path)
    }

    /// The array a list answer must be, or `None` with the error recorded.
    fn list_array<'v, T: Answer>(
        &mut self,
        value: Option<&'v Value>,
        path: &str,
    ) -> Option<&'v [Value]> {
        match value {
            None | Some(Value::Null) => {
                self.error(
                    path,
                    format!("is required: a list of one or more of: {}", T::expected()),
                );
                None
            }
            Some(Value::Array(items)) => Some(items),
            // A lone string is a type error like any other (the original
            // validator refused it too): guessing a one-item list would
            // hide a client bug.
            Some(other) => {
                self.error(
                    path,
                    format!("must be a list of strings, not {}", type_name(other)),
                );
                None
            }
        }
    }

    /// Whether a list of `len` items is neither empty nor longer than the
    /// allowed values; when not, the one error for the whole list is recorded.
    fn list_length_fits<T: Answer>(&mut self, len: usize, path: &str) -> bool {
        if len == 0 {
            self.error(
                path,
                format!("must contain at least one of: {}", T::expected()),
            );
            return false;
        }
        if len > T::ALL.len() {
            self.error(
                path,
                format!(
                    "has {} items; at most {}, each of these at most once: {}",
                    len,
                    T::ALL.len(),
                    T::expected()
                ),
            );
            return false;
        }
        true
    }

    /// The list's items as answers, each at most once; `None` when any item
    /// is refused (every item's error is recorded).
    fn distinct_answers<T: Answer>(&mut self, items: &[Value], path: &str) -> Option<Vec<T>> {
        let before = self.errors.len();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            if let Some(t) = self.enum_value::<T>(&item_path, item) {
                if out.contains(&t) {
                    self.error(&item_path, format!("'{t}' is listed twice"));
                } else {
                    out.push(t);
                }
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    fn list_named<T: Answer>(
        &mut self,
        obj: &Map<String, Value>,
        section: &str,
        key: &str,
        allow_empty: bool,
    ) -> Option<Vec<T>> {
        match Self::lookup(obj, key) {
            Some((found, _)) => self.list(obj, section, &found, allow_empty),
            None => self.list(obj, section, key, allow_empty),
        }
    }

    /// q2: optional, but when given a syntactically valid address (the
    /// original validator refused others, and a family must be reachable
    /// at it).
    fn email(&mut self, obj: &Map<String, Value>, path: &str) -> Option<String> {
        let email = self.opt_string(obj, path, "q2_email", MAX_TEXT_CHARS)?;
        if is_email(&email) {
            Some(email)
        } else {
            self.error(
                path,
                format!("'{}' is not a valid e-mail address", quote(&email)),
            );
            None
        }
    }

    /// Legacy free-text list of strings; absent is empty.
    fn free_list(&mut self, obj: &Map<String, Value>, section: &str, key: &str) -> Vec<String> {
        let path = join(section, key);
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() > MAX_SPECIAL_EQUIPMENT => {
                self.error(
                    &path,
                    format!("has {} items; at most {MAX_SPECIAL_EQUIPMENT}", items.len()),
                );
                Vec::new()
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    match item {
                        Value::String(s) => out.extend(self.text(&item_path, s, MAX_TEXT_CHARS)),
                        other => self.error(
                            &item_path,
                            format!("must be a string, not {}", type_name(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.error(
                    &path,
                    format!("must be a list of strings, not {}", type_name(other)),
                );
                Vec::new()
            }
        }
    }

    /// Section 1: the names, and how to reach the family.
    fn contact(&mut self, root: &Map<String, Value>) -> Option<Contact> {
        self.section(root, S1).map(|s| Contact {
            names: self.req_string(s, S1, "q1_names").unwrap_or_default(),
            email: self.email(s, &join(S1, "q2_email")),
            phone: self.opt_string(s, &join(S1, "q3_phone"), "q3_phone", MAX_TEXT_CHARS),
            emergency_contact: self.opt_string(
                s,
                &join(S1, "q4_emergency_contact"),
                "q4_emergency_contact",
                MAX_TEXT_CHARS,
            ),
        })
    }

    /// Section 2: where, how far and at what budget. Every field is read
    /// before any is required, so all their errors are reported at once.
    fn location(&mut self, root: &Map<String, Value>) -> Option<LocationBudget> {
        let s = self.section(root, S2)?;
        let postcode = self.opt_string(s, &join(S2, "q4_postcode"), "q4_postcode", MAX_TEXT_CHARS);
        let city = self.req_string(s, S2, "q5_preferred_city");
        let distance = self.one::<MaxDistance>(s, S2, "q6_max_distance");
        let budget = self.one::<Budget>(s, S2, "q7_budget");
        Some(LocationBudget {
            postcode,
            preferred_city: city?,
            max_distance: distance?,
            budget: budget?,
        })
    }

    /// Section 3: the care and medical needs, in the current or the legacy
    /// numbering.
    fn medical(&mut self, root: &Map<String, Value>) -> Option<MedicalNeeds> {
        let s = self.section(root, S3)?;
        let care_types = self.list::<CareType>(s, S3, "q8_care_types", false);
        let conditions = self.list::<MedicalCondition>(s, S3, "q9_medical_conditions", false);
        let mobility = self.one::<Mobility>(s, S3, "q10_mobility_level");
        let medication = self.one::<Medication>(s, S3, "q11_medication_management");
        // Current form: q12_age_range. Legacy form: q12_special_equipment
        // and q13_age_range.
        let age_key = if s.contains_key("q12_age_range") || !s.contains_key("q13_age_range") {
            "q12_age_range"
        } else {
            "q13_age_range"
        };
        let age = self.one::<AgeRange>(s, S3, age_key);
        let special_equipment = self.free_list(s, S3, "q12_special_equipment");
        Some(MedicalNeeds {
            care_types: care_types?,
            conditions: conditions?,
            mobility: mobility?,
            medication: medication?,
            age_range: age?,
            special_equipment,
        })
    }

    /// Section 4: falls, allergies, diet and the social personality.
    fn safety(&mut self, root: &Map<String, Value>) -> Option<SafetyNeeds> {
        // q16 may sit in section 5 instead (the original validator accepted
        // both places); section 4 wins when both have it.
        let s5 = root.get(S5).and_then(Value::as_object);
        let s = self.section(root, S4)?;
        let falls = self.one_named::<FallHistory>(s, S4, "q13_fall_history");
        let allergies = self.list_named::<Allergy>(s, S4, "q14_allergies", true);
        let dietary = self.list_named::<Diet>(s, S4, "q15_dietary_requirements", true);
        let q16 = "q16_social_personality";
        let social = match s5 {
            Some(s5) if Parser::lookup(s, q16).is_none() && s5.contains_key(q16) => {
                self.one::<Social>(s5, S5, q16)
            }
            _ => self.one_named::<Social>(s, S4, q16),
        };
        Some(SafetyNeeds {
            fall_history: falls?,
            allergies: allergies?,
            dietary: dietary?,
            social: social?,
        })
    }

    /// Section 6, which may be left out or null.
    fn priority_section(&mut self, root: &Map<String, Value>) -> Option<PriorityRanking> {
        match root.get(S6) {
            None | Some(Value::Null) => None,
            Some(Value::Object(s)) => self.priorities(s),
            Some(_) => {
                self.error(S6, "must be an object");
                None
            }
        }
    }

    fn priorities(&mut self, section: &Map<String, Value>) -> Option<PriorityRanking> {
        let key = "q18_priority_ranking";
        let path = join(S6, key);
        let ranking = match section.get(key) {
            None | Some(Value::Null) => return None,
            Some(Value::Object(m)) => m,
            Some(other) => {
                self.error(
                    &path,
                    format!("must be an object, not {}", type_name(other)),
                );
                return None;
            }
        };
        // Each priority at most once: `list` refuses repeats.
        let order = self.list::<Priority>(ranking, &path, "priority_order", false);
        let weights_path = format!("{path}.priority_weights");
        let weights = self.priority_weights(ranking, &weights_path);
        let order = order?;
        let weights = self.weights_for(&order, weights, &weights_path)?;
        Some(PriorityRanking { order, weights })
    }

    /// q18's `priority_weights`: whole numbers from 0 to 100, at most one per
    /// priority; `None` when left out or refused (the error is recorded).
    fn priority_weights(
        &mut self,
        ranking: &Map<String, Value>,
        weights_path: &str,
    ) -> Option<Vec<u32>> {
        match ranking.get("priority_weights") {
            None | Some(Value::Null) => None,
            // One weight per priority: a longer list is one error, not one
            // per item (see `list`).
            Some(Value::Array(items)) if items.len() > Priority::ALL.len() => {
                self.error(
                    weights_path,
                    format!(
                        "has {} weights; at most {}, one per priority",
                        items.len(),
                        Priority::ALL.len()
                    ),
                );
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_u64().filter(|w| *w <= 100) {
                        Some(w) => out.push(w as u32),
                        None => self.error(
                            &format!("{weights_path}[{i}]"),
                            "must be a whole number from 0 to 100",
                        ),
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            Some(other) => {
                self.error(
                    weights_path,
                    format!("must be a list of numbers, not {}", type_name(other)),
                );
                None
            }
        }
    }

    /// The weights for a valid priority order: the ones given when they fit
    /// it, else the rank weights.
    fn weights_for(
        &mut self,
        order: &[Priority],
        weights: Option<Vec<u32>>,
        weights_path: &str,
    ) -> Option<Vec<u32>> {
        match weights {
            Some(w) if w.len() != order.len() => {
                self.error(
                    weights_path,
                    format!(
                        "must have one weight per priority ({} expected, {} given)",
                        order.len(),
                        w.len()
                    ),
                );
                None
            }
            Some(w) if w.iter().all(|w| *w == 0) => {
                self.error(weights_path, "at least one weight must be above 0");
                None
            }
            Some(w) => Some(w),
            // A fifth priority (the order may name all five) gets no weight.
            None => Some([40, 30, 20, 10, 0].into_iter().take(order.len()).collect()),
        }
    }
}

/// A syntactic e-mail check in the spirit of the original validator's
/// (`local@domain.tld`): one `@`, a non-empty local part, a domain of
/// dot-separated labels with a dot in it, no spaces or control characters,
/// at most 254 characters (RFC 5321's path limit). Deliverability is not
/// ours to judge.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

/// `q13_fall_history` → `fall_history`. Question numbers have one or two
/// digits: a key found this way becomes the path of its errors, so a
/// `q000…0_allergies` of any length must not be taken for a question (it
/// would be echoed back whole).
fn strip_q(key: &str) -> Option<&str> {
    let rest = key.strip_prefix('q')?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    rest[digits..].strip_prefix('_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A questionnaire in the samples' shape (invented person).
    pub(crate) fn sample() -> Value {
        json!({
            "profile_description": "Test profile",
            "section_1_contact_emergency": {
                "q1_names": "Contact: Ann Example; Patient: Bob Example",
                "q2_email": "ann@example.test",
                "q3_phone": "+44 7000 000000",
                "q4_emergency_contact": "Cat Example +44 7000 000001"
            },
            "section_2_location_budget": {
                "q5_preferred_city": "Birmingham",
                "q6_max_distance": "15km",
                "q7_budget": "5000_7000_local"
            },
            "section_3_medical_needs": {
                "q8_care_types": ["specialised_dementia"],
                "q9_medical_conditions": ["dementia_alzheimers", "mobility_problems"],
                "q10_mobility_level": "walking_aids",
                "q11_medication_management": "several_simple_routine",
                "q12_age_range": "75_84"
            },
            "section_4_safety_special_needs": {
                "q13_fall_history": "1_2_no_serious_injuries",
                "q14_allergies": ["no_allergies"],
                "q15_dietary_requirements": ["no_special_requirements"],
                "q16_social_personality": "moderately_sociable"
            },
            "section_5_timeline": { "q17_placement_timeline": "next_month" },
            "section_6_priorities": {
                "q18_priority_ranking": {
                    "priority_order": ["medical_safety", "quality_reputation", "location_social", "cost_financial"],
                    "priority_weights": [50, 30, 15, 5]
                }
            }
        })
    }

    fn set(v: &mut Value, section: &str, key: &str, value: Value) {
        v[section][key] = value;
    }

    #[test]
    fn the_sample_shape_parses() {
        let q = Questionnaire::parse(&sample()).unwrap();
        assert_eq!(q.client_name(), "Bob Example");
        assert_eq!(q.location.max_distance, MaxDistance::Within15Km);
        assert_eq!(q.location.budget, Budget::From5000To7000Local);
        assert_eq!(q.medical.care_types, vec![CareType::SpecialisedDementia]);
        assert!(q.needs_dementia_care());
        let p = q.priorities.unwrap();
        assert_eq!(p.order[0], Priority::MedicalSafety);
        assert_eq!(p.weights, vec![50, 30, 15, 5]);
    }

    #[test]
    fn every_enum_value_of_the_samples_is_accepted() {
        let cases: &[(&str, &str, &[&str], bool)] = &[
            (
                S2,
                "q6_max_distance",
                &[
                    "5km",
                    "10km",
                    "15km",
                    "20km",
                    "30km",
                    "distance_not_important",
                    "within_5km",
                    "within_30km",
                    "WITHIN_10KM",
                ],
                false,
            ),
            (
                S2,
                "q7_budget",
                &[
                    "under_3000_self",
                    "under_3000_local",
                    "3000_5000_self",
                    "3000_5000_local",
                    "5000_7000_self",
                    "5000_7000_local",
                    "over_7000_self",
                    "over_7000_local",
                    "need_budget_guidance",
                ],
                false,
            ),
            (
                S3,
                "q8_care_types",
                &[
                    "general_residential",
                    "medical_nursing",
                    "specialised_dementia",
                ],
                true,
            ),
            (
                S3,
                "q9_medical_conditions",
                &[
                    "dementia_alzheimers",
                    "diabetes",
                    "heart_conditions",
                    "mobility_problems",
                    "no_serious_medical",
                ],
                true,
            ),
            (
                S3,
                "q10_mobility_level",
                &[
                    "fully_mobile",
                    "walking_aids",
                    "wheelchair_sometimes",
                    "wheelchair_permanent",
                ],
                false,
            ),
            (
                S3,
                "q11_medication_management",
                &[
                    "simple_1_2",
                    "several_simple_routine",
                    "many_complex_routine",
                ],
                false,
            ),
            (
                S3,
                "q12_age_range",
                &["65_74", "75_84", "85_94", "95_plus"],
                false,
            ),
            (
                S4,
                "q13_fall_history",
                &[
                    "no_falls_occurred",
                    "1_2_no_serious_injuries",
                    "3_plus_or_serious_injuries",
                    "high_risk_of_falling",
                ],
                false,
            ),
            (
                S4,
                "q14_allergies",
                &["no_allergies", "food_allergies", "medication_allergies"],
                true,
            ),
            (
                S4,
                "q15_dietary_requirements",
                &[
                    "no_special_requirements",
                    "diabetic_diet",
                    "pureed_soft_food",
                ],
                true,
            ),
            (
                S4,
                "q16_social_personality",
                &["very_sociable", "moderately_sociable", "prefers_quiet"],
                false,
            ),
            (
                S5,
                "q17_placement_timeline",
                &[
                    "urgent_2_weeks",
                    "next_month",
                    "planning_2_3_months",
                    "exploring_6_plus_months",
                ],
                false,
            ),
        ];
        for (section, key, values, is_list) in cases {
            for value in *values {
                let mut v = sample();
                let answer = if *is_list {
                    json!([value])
                } else {
                    json!(value)
                };
                set(&mut v, section, key, answer);
                assert!(
                    Questionnaire::parse(&v).is_ok(),
                    "{section}.{key} = {value}"
                );
            }
        }
    }

    #[test]
    fn legacy_distances_map_to_the_same_radius() {
        for (legacy, km) in [
            ("5km", 5.0),
            ("10km", 10.0),
            ("15km", 15.0),
            ("20km", 20.0),
            ("30km", 30.0),
        ] {
            assert_eq!(
                MaxDistance::parse(legacy).and_then(MaxDistance::km),
                Some(km)
            );
            let current = format!("within_{legacy}");
            assert_eq!(MaxDistance::parse(&current), MaxDistance::parse(legacy));
        }
        assert_eq!(MaxDistance::NotImportant.km(), None);
    }

    #[test]
    fn legacy_special_equipment_form_with_q13_age_range_parses() {
        let mut v = sample();
        let s3 = v[S3].as_object_mut().unwrap();
        s3.remove("q12_age_range");
        s3.insert(
            "q12_special_equipment".into(),
            json!(["hoist", "pressure_mattress"]),
        );
        s3.insert("q13_age_range".into(), json!("85_94"));
        // Later questions renumbered one higher in that form.
        let s4 = v[S4].as_object_mut().unwrap();
        let falls = s4.remove("q13_fall_history").unwrap();
        s4.insert("q14_fall_history".into(), falls);
        let q = Questionnaire::parse(&v).unwrap();
        assert_eq!(q.medical.age_range, AgeRange::From85To94);
        assert_eq!(
            q.medical.special_equipment,
            vec!["hoist", "pressure_mattress"]
        );
        assert_eq!(q.safety.fall_history, FallHistory::OneOrTwoMinor);
    }

    #[test]
    fn optional_parts_may_be_absent() {
        let mut v = sample();
        let root = v.as_object_mut().unwrap();
        root.remove("section_6_priorities");
        root.remove("profile_description");
        v[S2]["q4_postcode"] = json!("B1 1AA");
        let q = Questionnaire::parse(&v).unwrap();
        assert_eq!(q.priorities, None);
        assert_eq!(q.location.postcode.as_deref(), Some("B1 1AA"));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut v = sample();
        v.as_object_mut().unwrap().remove(S5);
        set(&mut v, S2, "q7_budget", json!("lots"));
        set(&mut v, S2, "q5_preferred_city", json!(42));
        set(&mut v, S3, "q8_care_types", json!([]));
        set(
            &mut v,
            S3,
            "q9_medical_conditions",
            json!(["diabetes", "flu", 3]),
        );
        set(&mut v, S4, "q16_social_personality", json!(null));
        v[S6]["q18_priority_ranking"]["priority_weights"] = json!([50, 50]);
        let err = Questionnaire::parse(&v).unwrap_err();
        let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "section_2_location_budget.q5_preferred_city",
            "section_2_location_budget.q7_budget",
            "section_3_medical_needs.q8_care_types",
            "section_3_medical_needs.q9_medical_conditions[1]",
            "section_3_medical_needs.q9_medical_conditions[2]",
            "section_4_safety_special_needs.q16_social_personality",
            "section_5_timeline",
            "section_6_priorities.q18_priority_ranking.priority_weights",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }
        assert_eq!(err.errors.len(), 8, "{paths:?}");
        let budget = err
            .errors
            .iter()
            .find(|e| e.path.ends_with("q7_budget"))
            .unwrap();
        assert!(
            budget.message.contains("'lots'") && budget.message.contains("need_budget_guidance")
        );
        // The API body shape.
        let body = serde_json::to_value(&err).unwrap();
        assert!(body["errors"][0]["path"].is_string());
        assert!(body["errors"][0]["message"].is_string());
        assert!(err.to_string().contains("section_5_timeline"));
    }

    #[test]
    fn not_an_object_and_missing_sections() {
        let err = Questionnaire::parse(&json!([1])).unwrap_err();
        assert_eq!(err.errors[0].path, "$");
        let err = Questionnaire::parse(&json!({})).unwrap_err();
        assert_eq!(err.errors.len(), 5);
        let err = Questionnaire::parse(&json!({"section_1_contact_emergency": "x"})).unwrap_err();
        assert_eq!(err.errors[0].message, "must be an object, not a string");
    }

    #[test]
    fn duplicate_priorities_are_refused() {
        let mut v = sample();
        v[S6]["q18_priority_ranking"]["priority_order"] = json!([
            "medical_safety",
            "medical_safety",
            "location_social",
            "cost_financial"
        ]);
        let err = Questionnaire::parse(&v).unwrap_err();
        assert_eq!(
            err.errors[0].path,
            "section_6_priorities.q18_priority_ranking.priority_order[1]"
        );
    }

    /// The one error of `v`, which must have exactly one.
    fn only_error(v: &Value) -> FieldError {
        let err = Questionnaire::parse(v).unwrap_err();
        assert_eq!(err.errors.len(), 1, "{:?}", err.errors);
        err.errors.into_iter().next().unwrap()
    }

    #[test]
    fn a_list_longer_than_its_allowed_values_is_one_error() {
        // Every allowed value once is the longest list accepted.
        let mut v = sample();
        set(
            &mut v,
            S3,
            "q9_medical_conditions",
            json!(MedicalCondition::ALL),
        );
        let q = Questionnaire::parse(&v).unwrap();
        assert_eq!(q.medical.conditions, MedicalCondition::ALL);

        // 100,000 copies of a valid value: refused, one error.
        let mut v = sample();
        set(
            &mut v,
            S3,
            "q8_care_types",
            json!(vec!["general_residential"; 100_000]),
        );
        let e = only_error(&v);
        assert_eq!(e.path, "section_3_medical_needs.q8_care_types");
        assert!(
            e.message.starts_with("has 100000 items; at most 4"),
            "{}",
            e.message
        );

        // 100,000 invalid items: one error, not one each.
        let mut v = sample();
        set(
            &mut v,
            S4,
            "q15_dietary_requirements",
            json!(vec![0; 100_000]),
        );
        let e = only_error(&v);
        assert_eq!(
            e.path,
            "section_4_safety_special_needs.q15_dietary_requirements"
        );

        // Also for the legacy renumbered key and the priority order.
        let mut v = sample();
        let s4 = v[S4].as_object_mut().unwrap();
        s4.remove("q14_allergies");
        s4.insert("q15_allergies".into(), json!(vec!["x"; 5]));
        assert_eq!(
            only_error(&v).path,
            "section_4_safety_special_needs.q15_allergies"
        );
        let mut v = sample();
        v[S6]["q18_priority_ranking"]["priority_order"] = json!(vec!["medical_safety"; 6]);
        v[S6]["q18_priority_ranking"]["priority_weights"] = Value::Null;
        assert_eq!(
            only_error(&v).path,
            "section_6_priorities.q18_priority_ranking.priority_order"
        );
    }

    #[test]
    fn a_value_listed_twice_is_refused_in_every_list() {
        for (section, key, value) in [
            (S3, "q8_care_types", "medical_nursing"),
            (S3, "q9_medical_conditions", "diabetes"),
            (S4, "q14_allergies", "food_allergies"),
            (S4, "q15_dietary_requirements", "diabetic_diet"),
        ] {
            let mut v = sample();
            // Case and spaces do not make a different value.
            set(
                &mut v,
                section,
                key,
                json!([value, format!(" {} ", value.to_uppercase())]),
            );
            let e = only_error(&v);
            assert_eq!(e.path, format!("{section}.{key}[1]"));
            assert_eq!(e.message, format!("'{value}' is listed twice"));
        }
    }

    #[test]
    fn too_many_weights_are_one_error() {
        let mut v = sample();
        v[S6]["q18_priority_ranking"]["priority_weights"] = json!(vec![-1; 100_000]);
        let e = only_error(&v);
        assert_eq!(
            e.path,
            "section_6_priorities.q18_priority_ranking.priority_weights"
        );
        assert!(
            e.message.starts_with("has 100000 weights; at most 5"),
            "{}",
            e.message
        );
    }

    #[test]
    fn legacy_special_equipment_has_a_length_cap() {
        let mut v = sample();
        set(
            &mut v,
            S3,
            "q12_special_equipment",
            json!(vec!["hoist"; MAX_SPECIAL_EQUIPMENT]),
        );
        let q = Questionnaire::parse(&v).unwrap();
        assert_eq!(q.medical.special_equipment.len(), MAX_SPECIAL_EQUIPMENT);
        set(
            &mut v,
            S3,
            "q12_special_equipment",
            json!(vec!["hoist"; MAX_SPECIAL_EQUIPMENT + 1]),
        );
        assert_eq!(
            only_error(&v).path,
            "section_3_medical_needs.q12_special_equipment"
        );
        set(
            &mut v,
            S3,
            "q12_special_equipment",
            json!(["hoist", "bed\u{0}"]),
        );
        assert_eq!(
            only_error(&v).path,
            "section_3_medical_needs.q12_special_equipment[1]"
        );
    }

    #[test]
    fn free_text_has_a_length_cap_and_no_control_characters() {
        // At the cap: accepted (after trimming); one more: refused.
        let mut v = sample();
        set(
            &mut v,
            S2,
            "q5_preferred_city",
            json!(format!("  {}  ", "é".repeat(MAX_TEXT_CHARS))),
        );
        assert!(Questionnaire::parse(&v).is_ok());
        set(
            &mut v,
            S2,
            "q5_preferred_city",
            json!("é".repeat(MAX_TEXT_CHARS + 1)),
        );
        let e = only_error(&v);
        assert_eq!(e.path, "section_2_location_budget.q5_preferred_city");
        assert_eq!(e.message, "is too long: 501 characters, at most 500");

        let mut v = sample();
        v["profile_description"] = json!("d".repeat(MAX_DESCRIPTION_CHARS));
        assert!(Questionnaire::parse(&v).is_ok());
        v["profile_description"] = json!("d".repeat(MAX_DESCRIPTION_CHARS + 1));
        assert_eq!(only_error(&v).path, "profile_description");

        // NUL and other control characters are refused in every text field;
        // line breaks and tabs are fine.
        for (section, key) in [
            (S1, "q1_names"),
            (S1, "q2_email"),
            (S1, "q3_phone"),
            (S1, "q4_emergency_contact"),
            (S2, "q4_postcode"),
            (S2, "q5_preferred_city"),
        ] {
            for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}", "a\u{85}b"] {
                let mut v = sample();
                set(&mut v, section, key, json!(bad));
                let e = only_error(&v);
                assert_eq!(e.path, format!("{section}.{key}"));
                assert!(
                    e.message.starts_with("must not contain control characters"),
                    "{}",
                    e.message
                );
            }
        }
        let mut v = sample();
        set(
            &mut v,
            S1,
            "q1_names",
            json!("Contact: Ann Example\r\nPatient:\tBob Example"),
        );
        assert_eq!(
            Questionnaire::parse(&v).unwrap().client_name(),
            "Bob Example"
        );
    }

    #[test]
    fn rejected_values_are_quoted_short_and_escaped() {
        let mut v = sample();
        set(&mut v, S2, "q7_budget", json!("x".repeat(100_000)));
        let e = only_error(&v);
        let quoted = format!("'{}…'", "x".repeat(QUOTED_CHARS));
        assert!(e.message.starts_with(&quoted), "{}", e.message);
        assert!(e.message.len() < 400, "{}", e.message.len());

        set(
            &mut v,
            S2,
            "q7_budget",
            json!("*1\r\n$8\r\nFLUSHALL\r\n\u{0}"),
        );
        let e = only_error(&v);
        assert!(
            e.message
                .starts_with(r"'*1\r\n$8\r\nFLUSHALL\r\n\0' is not one of"),
            "{}",
            e.message
        );
        assert_eq!(quote("é😀"), "é😀");
    }

    #[test]
    fn renumbered_keys_have_at_most_two_digits() {
        assert_eq!(strip_q("q7_budget"), Some("budget"));
        assert_eq!(strip_q("q15_allergies"), Some("allergies"));
        assert_eq!(strip_q("q_allergies"), None);
        assert_eq!(strip_q("q100_allergies"), None);
        // A huge renumbered key is not a question: the field is missing,
        // and no error path repeats the key.
        let mut v = sample();
        let s4 = v[S4].as_object_mut().unwrap();
        let allergies = s4.remove("q14_allergies").unwrap();
        s4.insert(format!("q{}_allergies", "0".repeat(10_000)), allergies);
        let e = only_error(&v);
        assert_eq!(e.path, "section_4_safety_special_needs.q14_allergies");
    }

    #[test]
    fn client_name_falls_back() {
        assert_eq!(
            patient_name("Contact: A B; Patient: C D").as_deref(),
            Some("C D")
        );
        assert_eq!(patient_name("Jane Roe").as_deref(), Some("Jane Roe"));
        assert_eq!(patient_name("Contact: A B"), None);
        assert_eq!(patient_name("Patient:  "), None);
        let mut v = sample();
        set(&mut v, S1, "q1_names", json!("Contact: Only Contact"));
        assert_eq!(
            Questionnaire::parse(&v).unwrap().client_name(),
            "the client"
        );
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let q = Questionnaire::parse(&sample()).unwrap();
        let debug = format!("{q:?}");
        assert!(!debug.contains("Example"), "{debug}");
        assert!(!debug.contains("ann@"), "{debug}");
        assert!(!debug.contains("7000 000000"), "{debug}");
    }

    #[test]
    fn the_clients_new_values_are_accepted() {
        let cases: &[(&str, &str, Value)] = &[
            (S3, "q8_care_types", json!(["temporary_respite"])),
            (S3, "q11_medication_management", json!("none")),
            (S3, "q11_medication_management", json!("independent")),
            (S3, "q11_medication_management", json!("reminders_needed")),
            (
                S3,
                "q11_medication_management",
                json!("full_administration_required"),
            ),
            (S4, "q14_allergies", json!(["environmental_allergies"])),
            (S4, "q14_allergies", json!([])),
            (S4, "q15_dietary_requirements", json!(["vegetarian_vegan"])),
            (S4, "q15_dietary_requirements", json!([])),
            (S4, "q16_social_personality", json!("social")),
        ];
        for (section, key, value) in cases {
            let mut v = sample();
            set(&mut v, section, key, value.clone());
            assert!(
                Questionnaire::parse(&v).is_ok(),
                "{section}.{key} = {value}: {:?}",
                Questionnaire::parse(&v).err()
            );
        }
        let q = |edit: &dyn Fn(&mut Value)| {
            let mut v = sample();
            edit(&mut v);
            Questionnaire::parse(&v).unwrap()
        };
        assert_eq!(
            q(&|v| set(v, S3, "q8_care_types", json!(["temporary_respite"])))
                .medical
                .care_types,
            vec![CareType::TemporaryRespite]
        );
        assert!(q(&|v| set(
            v,
            S3,
            "q11_medication_management",
            json!("full_administration_required")
        ))
        .medical
        .medication
        .needs_nursing_oversight());
        for light in ["none", "independent", "reminders_needed", "simple_1_2"] {
            assert!(
                !q(&|v| set(v, S3, "q11_medication_management", json!(light)))
                    .medical
                    .medication
                    .needs_nursing_oversight()
            );
        }
        assert!(q(&|v| set(v, S4, "q14_allergies", json!([])))
            .safety
            .allergies
            .is_empty());
        assert_eq!(
            q(&|v| set(v, S4, "q16_social_personality", json!("social")))
                .safety
                .social,
            Social::ModeratelySociable
        );
        // comfort_amenities in the priority order.
        let p = q(&|v| {
            v[S6]["q18_priority_ranking"]["priority_order"] = json!([
                "comfort_amenities",
                "quality_reputation",
                "cost_financial",
                "location_social"
            ])
        })
        .priorities
        .unwrap();
        assert_eq!(p.order[0], Priority::ComfortAmenities);
    }

    #[test]
    fn q16_may_sit_in_section_5() {
        let mut v = sample();
        let s4 = v[S4].as_object_mut().unwrap();
        s4.remove("q16_social_personality");
        v[S5]["q16_social_personality"] = json!("prefers_quiet");
        assert_eq!(
            Questionnaire::parse(&v).unwrap().safety.social,
            Social::PrefersQuiet
        );
        // A bad value there is named at its own path.
        v[S5]["q16_social_personality"] = json!("loud");
        assert_eq!(
            only_error(&v).path,
            "section_5_timeline.q16_social_personality"
        );
        // Missing from both: required, at its section 4 path.
        v[S5]
            .as_object_mut()
            .unwrap()
            .remove("q16_social_personality");
        assert_eq!(
            only_error(&v).path,
            "section_4_safety_special_needs.q16_social_personality"
        );
    }

    #[test]
    fn a_malformed_email_is_refused_naming_the_field() {
        for bad in [
            "not-an-email",
            "a@b",
            "@example.test",
            "ann@",
            "ann@@example.test",
            "ann example@example.test",
            "ann@exa mple.test",
            "ann@.example.test",
            "ann@example..test",
            ".ann@example.test",
        ] {
            let mut v = sample();
            set(&mut v, S1, "q2_email", json!(bad));
            let e = only_error(&v);
            assert_eq!(e.path, "section_1_contact_emergency.q2_email", "{bad}");
            assert!(e.message.contains("not a valid e-mail"), "{}", e.message);
        }
        for good in [
            "ann@example.test",
            "Ann.O'Neil+care@mail.example.co.uk",
            "  ann@example.test  ",
        ] {
            let mut v = sample();
            set(&mut v, S1, "q2_email", json!(good));
            assert!(Questionnaire::parse(&v).is_ok(), "{good}");
        }
        // Still optional.
        let mut v = sample();
        v[S1].as_object_mut().unwrap().remove("q2_email");
        assert!(Questionnaire::parse(&v).is_ok());
        set(&mut v, S1, "q2_email", json!(""));
        assert!(Questionnaire::parse(&v).is_ok());
    }

    #[test]
    fn a_list_sent_as_a_string_is_refused_naming_the_field() {
        for (section, key, value) in [
            (S3, "q8_care_types", "general_residential"),
            (S3, "q9_medical_conditions", "diabetes"),
            (S4, "q14_allergies", "no_allergies"),
            (S4, "q15_dietary_requirements", "no_special_requirements"),
            (S3, "q12_special_equipment", "hoist"),
        ] {
            let mut v = sample();
            set(&mut v, section, key, json!(value));
            let e = only_error(&v);
            assert_eq!(e.path, format!("{section}.{key}"));
            assert!(e.message.contains("not a string"), "{}", e.message);
        }
        let mut v = sample();
        v[S6]["q18_priority_ranking"]["priority_order"] = json!("medical_safety");
        assert_eq!(
            only_error(&v).path,
            "section_6_priorities.q18_priority_ranking.priority_order"
        );
    }

    #[test]
    fn the_stored_form_keeps_only_what_the_service_reads() {
        let mut v = sample();
        v["unknown_top"] = json!("x");
        v[S3]["q99_unknown"] = json!(["y"]);
        let q = Questionnaire::parse(&v).unwrap();
        let stored = q.to_stored_json();
        let text = stored.to_string();
        for gone in [
            "ann@example.test",
            "7000 000000",
            "Ann Example",
            "Cat Example",
            "unknown_top",
            "q99_unknown",
            "Test profile",
            "q2_email",
            "q3_phone",
            "q4_emergency_contact",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert_eq!(stored[S1], json!({"q1_names": "Bob Example"}));
        // It parses back to the same answers (bar the left-out contact details).
        let back = Questionnaire::parse(&stored).unwrap();
        assert_eq!(back.client_name(), "Bob Example");
        assert_eq!(back.location, q.location);
        assert_eq!(back.medical, q.medical);
        assert_eq!(back.safety, q.safety);
        assert_eq!(back.timeline, q.timeline);
        assert_eq!(back.priorities, q.priorities);
        assert_eq!(back.to_stored_json(), stored);

        // Legacy forms come out in the current form.
        let mut v = sample();
        let s3 = v[S3].as_object_mut().unwrap();
        let age = s3.remove("q12_age_range").unwrap();
        s3.insert("q13_age_range".into(), age);
        set(&mut v, S2, "q6_max_distance", json!("15KM"));
        let stored = Questionnaire::parse(&v).unwrap().to_stored_json();
        assert_eq!(stored[S3]["q12_age_range"], "75_84");
        assert!(stored[S3].get("q13_age_range").is_none());
        assert_eq!(stored[S2]["q6_max_distance"], "within_15km");

        // Names with separators keep their label; no patient name stays nameless.
        for (names, expected) in [
            ("Contact: A B; Patient: Dr: C", "Dr: C"),
            ("Contact: Only Contact", "the client"),
        ] {
            let mut v = sample();
            set(&mut v, S1, "q1_names", json!(names));
            let stored = Questionnaire::parse(&v).unwrap().to_stored_json();
            assert!(!stored.to_string().contains("Only Contact"));
            assert_eq!(
                Questionnaire::parse(&stored).unwrap().client_name(),
                expected
            );
        }
    }

    /// The stored JSON as `to_stored_json` built it by hand before the
    /// stored form had serde types: the reference the typed form must
    /// write byte for byte (jobs already stored hold this).
    fn stored_by_hand(q: &Questionnaire) -> Value {
        let names = |v: &[&str]| Value::from(v.to_vec());
        let l = &q.location;
        let mut s2 = Map::new();
        if let Some(pc) = &l.postcode {
            s2.insert("q4_postcode".into(), pc.clone().into());
        }
        s2.insert("q5_preferred_city".into(), l.preferred_city.clone().into());
        s2.insert("q6_max_distance".into(), l.max_distance.as_str().into());
        s2.insert("q7_budget".into(), l.budget.as_str().into());
        let m = &q.medical;
        let mut s3 = Map::new();
        let care: Vec<_> = m.care_types.iter().map(|c| c.as_str()).collect();
        s3.insert("q8_care_types".into(), names(&care));
        let conditions: Vec<_> = m.conditions.iter().map(|c| c.as_str()).collect();
        s3.insert("q9_medical_conditions".into(), names(&conditions));
        s3.insert("q10_mobility_level".into(), m.mobility.as_str().into());
        let medication = m.medication.as_str();
        s3.insert("q11_medication_management".into(), medication.into());
        s3.insert("q12_age_range".into(), m.age_range.as_str().into());
        if !m.special_equipment.is_empty() {
            let equipment = m.special_equipment.clone();
            s3.insert("q12_special_equipment".into(), equipment.into());
        }
        let f = &q.safety;
        let mut root = Map::new();
        root.insert(
            S1.into(),
            json!({ "q1_names": stored_names(&q.contact.names) }),
        );
        root.insert(S2.into(), Value::Object(s2));
        root.insert(S3.into(), Value::Object(s3));
        root.insert(
            S4.into(),
            json!({
                "q13_fall_history": f.fall_history.as_str(),
                "q14_allergies": f.allergies.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                "q15_dietary_requirements": f.dietary.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                "q16_social_personality": f.social.as_str(),
            }),
        );
        root.insert(
            S5.into(),
            json!({ "q17_placement_timeline": q.timeline.as_str() }),
        );
        if let Some(p) = &q.priorities {
            root.insert(
                S6.into(),
                json!({ "q18_priority_ranking": {
                    "priority_order": p.order.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
                    "priority_weights": p.weights,
                }}),
            );
        }
        Value::Object(root)
    }

    /// A change to a questionnaire's JSON.
    type Edit = Box<dyn Fn(&mut Value)>;

    /// Questionnaires of every shape the stored form has: optional parts
    /// given or not, legacy forms, every list empty or full.
    fn stored_shapes() -> Vec<Value> {
        let edits: Vec<Edit> = vec![
            Box::new(|_| {}),
            Box::new(|v| set(v, S2, "q4_postcode", json!("  B1 1AA "))),
            Box::new(|v| set(v, S2, "q4_postcode", json!(""))),
            Box::new(|v| set(v, S3, "q12_special_equipment", json!(["hoist", " bed "]))),
            Box::new(|v| set(v, S3, "q12_special_equipment", json!([]))),
            Box::new(|v| {
                v.as_object_mut().unwrap().remove(S6);
            }),
            Box::new(|v| v[S6]["q18_priority_ranking"] = json!(null)),
            Box::new(|v| {
                v[S6]["q18_priority_ranking"] = json!({"priority_order": Priority::ALL});
            }),
            Box::new(|v| {
                let s3 = v[S3].as_object_mut().unwrap();
                let age = s3.remove("q12_age_range").unwrap();
                s3.insert("q13_age_range".into(), age);
                set(v, S2, "q6_max_distance", json!(" 30KM "));
            }),
            Box::new(|v| {
                let s4 = v[S4].as_object_mut().unwrap();
                let social = s4.remove("q16_social_personality").unwrap();
                v[S5]["q16_social_personality"] = social;
            }),
            Box::new(|v| {
                set(v, S3, "q8_care_types", json!(CareType::ALL));
                set(v, S3, "q9_medical_conditions", json!(MedicalCondition::ALL));
                set(v, S4, "q14_allergies", json!([]));
                set(v, S4, "q15_dietary_requirements", json!(Diet::ALL));
            }),
            Box::new(|v| set(v, S1, "q1_names", json!("Contact: A B; Patient: Dr: C"))),
            Box::new(|v| set(v, S1, "q1_names", json!("Contact: Only Contact"))),
            Box::new(|v| set(v, S1, "q1_names", json!("  Jane Roe  "))),
        ];
        edits
            .iter()
            .map(|edit| {
                let mut v = sample();
                edit(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn the_typed_stored_form_writes_what_was_stored_and_reads_it_back() {
        for v in stored_shapes() {
            let q = Questionnaire::parse(&v).unwrap();
            let stored = q.to_stored_json();
            // Byte for byte what the service stored before.
            assert_eq!(
                serde_json::to_string(&stored).unwrap(),
                serde_json::to_string(&stored_by_hand(&q)).unwrap()
            );
            // The typed decode gives what parsing the stored form gives,
            // and writes it back unchanged.
            let decoded = Questionnaire::from_stored(&stored).unwrap();
            assert_eq!(decoded, Questionnaire::parse(&stored).unwrap(), "{stored}");
            assert_eq!(decoded.client_name(), q.client_name());
            assert_eq!(decoded.to_stored_json(), stored);
        }
    }

    #[test]
    fn a_stored_form_the_service_did_not_write_does_not_decode() {
        let stored = Questionnaire::parse(&sample()).unwrap().to_stored_json();
        // A record with the client's extra fields (as jobs made in process
        // from the client's JSON hold) still reads: unknown fields are
        // ignored, as parsing ignores them.
        let mut extra = stored.clone();
        extra["profile_description"] = json!("free text");
        extra[S1]["q2_email"] = json!("ann@example.test");
        assert_eq!(
            Questionnaire::from_stored(&extra).unwrap(),
            Questionnaire::from_stored(&stored).unwrap()
        );
        let broken: Vec<Edit> = vec![
            Box::new(|v| *v = json!("not an object")),
            Box::new(|v| {
                v.as_object_mut().unwrap().remove(S3);
            }),
            Box::new(|v| {
                v[S2].as_object_mut().unwrap().remove("q7_budget");
            }),
            Box::new(|v| set(v, S2, "q7_budget", json!("a lot"))),
            Box::new(|v| set(v, S3, "q8_care_types", json!("general_residential"))),
            Box::new(|v| set(v, S3, "q8_care_types", json!(["general_residential", 3]))),
            Box::new(|v| v[S6]["q18_priority_ranking"]["priority_weights"] = json!([-1])),
            Box::new(|v| set(v, S5, "q17_placement_timeline", json!(null))),
        ];
        for edit in &broken {
            let mut v = stored.clone();
            edit(&mut v);
            assert!(Questionnaire::from_stored(&v).is_err(), "{v}");
        }
        // An enumerated answer that does not decode is quoted short.
        let mut v = stored.clone();
        set(&mut v, S2, "q7_budget", json!("x".repeat(1000)));
        let e = Questionnaire::from_stored(&v).unwrap_err().to_string();
        assert!(e.len() < 400, "{e}");
        assert!(e.contains("is not one of: under_3000_self"), "{e}");
    }

    #[test]
    fn the_largest_accepted_questionnaire_fits_the_stored_cap() {
        let long = "😀".repeat(MAX_TEXT_CHARS);
        let mut v = sample();
        set(&mut v, S1, "q1_names", json!(long));
        set(&mut v, S2, "q4_postcode", json!(long));
        set(&mut v, S2, "q5_preferred_city", json!(long));
        set(
            &mut v,
            S3,
            "q12_special_equipment",
            json!(vec![long.clone(); MAX_SPECIAL_EQUIPMENT]),
        );
        set(&mut v, S3, "q8_care_types", json!(CareType::ALL));
        set(
            &mut v,
            S3,
            "q9_medical_conditions",
            json!(MedicalCondition::ALL),
        );
        set(&mut v, S4, "q14_allergies", json!(Allergy::ALL));
        set(&mut v, S4, "q15_dietary_requirements", json!(Diet::ALL));
        let stored = Questionnaire::parse(&v).unwrap().to_stored_json();
        let size = serde_json::to_vec(&stored).unwrap().len();
        assert!(size <= MAX_STORED_BYTES, "{size}");
        assert!(Questionnaire::parse(&stored).is_ok());
    }
}
