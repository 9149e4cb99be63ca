//! The world the simulated accounts live in: segments with their sizes, prices, terms and
//! touch models, industries, regions, company and CSM names, and the product's features.

pub const FEATURES: [(&str, f64, bool); 10] = [
    ("dashboards", 0.90, false),
    ("reports", 0.70, false),
    ("alerts", 0.50, false),
    ("exports", 0.45, false),
    ("collaboration", 0.40, false),
    ("mobile", 0.30, false),
    ("admin_console", 0.20, false),
    ("api", 0.30, true),
    ("workflows", 0.40, true),
    ("integrations", 0.35, true),
];

pub(super) struct Segment {
    pub(super) name: &'static str,
    pub(super) share: f64,
    pub(super) seats_median: f64,
    pub(super) seats_sigma: f64,
    pub(super) list_price: f64,
    pub(super) max_discount: f64,
    pub(super) monthly_share: f64,
    pub(super) two_year_share: f64,
    pub(super) base_annual: f64,
    pub(super) base_monthly: f64,
    pub(super) sponsor_prob: f64,
    pub(super) touch: f64,
    pub(super) onboarding_prob: f64,
    pub(super) csm_per: usize,
}

pub(super) const SEGMENTS: [Segment; 3] = [
    Segment {
        name: "enterprise",
        share: 0.12,
        seats_median: 90.0,
        seats_sigma: 0.55,
        list_price: 900.0,
        max_discount: 0.30,
        monthly_share: 0.0,
        two_year_share: 0.2,
        base_annual: -3.2,
        base_monthly: -6.0,
        sponsor_prob: 0.95,
        touch: 1.0,
        onboarding_prob: 0.95,
        csm_per: 25,
    },
    Segment {
        name: "mid_market",
        share: 0.33,
        seats_median: 28.0,
        seats_sigma: 0.5,
        list_price: 720.0,
        max_discount: 0.20,
        monthly_share: 0.15,
        two_year_share: 0.05,
        base_annual: -2.75,
        base_monthly: -5.2,
        sponsor_prob: 0.8,
        touch: 0.5,
        onboarding_prob: 0.85,
        csm_per: 70,
    },
    Segment {
        name: "smb",
        share: 0.55,
        seats_median: 6.0,
        seats_sigma: 0.5,
        list_price: 480.0,
        max_discount: 0.10,
        monthly_share: 0.55,
        two_year_share: 0.0,
        base_annual: -2.1,
        base_monthly: -4.65,
        sponsor_prob: 0.5,
        touch: 0.0,
        onboarding_prob: 0.6,
        csm_per: 300,
    },
];

pub(super) const INDUSTRIES: [&str; 8] = [
    "software",
    "financial_services",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
    "logistics",
];
pub(super) const REGIONS: [(&str, f64); 4] = [
    ("na", 0.45),
    ("emea", 0.32),
    ("apac", 0.15),
    ("latam", 0.08),
];
pub(super) const NAME_A: [&str; 24] = [
    "North",
    "Blue",
    "Silver",
    "Bright",
    "Red",
    "Iron",
    "Clear",
    "Swift",
    "Green",
    "Summit",
    "Pioneer",
    "Harbor",
    "Cedar",
    "Atlas",
    "Nova",
    "Beacon",
    "Granite",
    "Maple",
    "Vertex",
    "Lumen",
    "Orbit",
    "Falcon",
    "Crescent",
    "Evergreen",
];
pub(super) const NAME_B: [&str; 20] = [
    "wind", "stone", "field", "bridge", "point", "works", "path", "line", "gate", "wave", "light",
    "ridge", "forge", "peak", "river", "spring", "crest", "view", "port", "lake",
];
pub(super) const NAME_C: [&str; 8] = [
    "Analytics",
    "Logistics",
    "Health",
    "Systems",
    "Retail",
    "Labs",
    "Partners",
    "Group",
];
const FIRST: [&str; 16] = [
    "Avery", "Jordan", "Priya", "Mateo", "Sofia", "Chen", "Amara", "Lukas", "Noor", "Diego",
    "Hana", "Tomas", "Zoe", "Kofi", "Elena", "Ravi",
];
const LAST: [&str; 16] = [
    "Chen", "Okafor", "Schmidt", "Garcia", "Patel", "Novak", "Kim", "Rossi", "Haddad", "Silva",
    "Larsen", "Mbeki", "Tanaka", "Dubois", "Walsh", "Ortiz",
];

pub(super) fn csm_name(segment: usize, k: usize) -> String {
    let n = segment * 97 + k * 7;
    format!(
        "{} {}",
        FIRST[n % FIRST.len()],
        LAST[(n / FIRST.len() + k) % LAST.len()]
    )
}
