//! The renewal forecast's arithmetic against exact answers, and report.html: every string
//! from data escaped, every section present or saying why not.

use std::collections::BTreeMap;
use std::fs;

use churnlab::analysis::forecast::{self, Item, pmf_quantile, poisson_binomial};
use churnlab::report::{self, ReportOptions};

/// Hand-computed: two fair coins give 0, 1, 2 heads with 1/4, 1/2, 1/4; p = (0.2, 0.5,
/// 0.9) gives P(0) = .8*.5*.1 = .04, P(1) = .2*.5*.1 + .8*.5*.1 + .8*.5*.9 = .41,
/// P(2) = .2*.5*.1 + .2*.5*.9 + .8*.5*.9 = .46, P(3) = .2*.5*.9 = .09.
#[test]
fn poisson_binomial_hand_computed() {
    let (off, pmf) = poisson_binomial(&[0.5, 0.5]);
    assert_eq!(off, 0);
    assert_eq!(pmf, vec![0.25, 0.5, 0.25]);
    let (off, pmf) = poisson_binomial(&[0.2, 0.5, 0.9]);
    assert_eq!(off, 0);
    for (got, want) in pmf.iter().zip([0.04, 0.41, 0.46, 0.09]) {
        assert!((got - want).abs() < 1e-12, "{pmf:?}");
    }
    // The 5% and 95% quantiles: cumulative .04, .45, .91, 1.
    assert_eq!(pmf_quantile(off, &pmf, 0.05), 1);
    assert_eq!(pmf_quantile(off, &pmf, 0.95), 3);
    // Certain events shift the support instead of widening it.
    let (off, pmf) = poisson_binomial(&[1.0, 1.0, 0.0]);
    assert_eq!((off, pmf), (2, vec![1.0]));
}

/// Equal probabilities make it binomial: scipy.stats.binom.ppf([0.05, 0.95], 10, 0.3) is
/// (1, 5) and binom.ppf([0.05, 0.95], 20000, 0.05) is (950, 1051).
#[test]
fn poisson_binomial_matches_scipy_binomial_quantiles() {
    let (off, pmf) = poisson_binomial(&[0.3; 10]);
    assert_eq!(pmf_quantile(off, &pmf, 0.05), 1);
    assert_eq!(pmf_quantile(off, &pmf, 0.95), 5);
    let (off, pmf) = poisson_binomial(&vec![0.05; 20_000]);
    let total: f64 = pmf.iter().sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    // The tails below 1e-300 are dropped, so the support is the bulk only.
    assert!(off > 50 && pmf.len() < 3_000, "{off} {}", pmf.len());
    assert_eq!(pmf_quantile(off, &pmf, 0.05), 950);
    assert_eq!(pmf_quantile(off, &pmf, 0.95), 1051);
}

#[test]
fn forecast_by_segment_adds_up_and_its_simulation_agrees_with_the_exact_count() {
    // 300 accounts of ARR 1: churned ARR is the churned count, so the simulated ARR
    // interval must sit on the exact Poisson-binomial count interval.
    let items: Vec<Item> = (0..300)
        .map(|i| Item {
            segment: if i % 3 == 0 { "enterprise" } else { "smb" },
            arr: 1.0,
            probability: 0.02 + 0.3 * (i as f64 / 300.0),
        })
        .collect();
    let mut rates = BTreeMap::new();
    rates.insert("smb".to_string(), 0.01);
    let f = forecast::forecast(&items, &rates, 90, 7);
    assert_eq!(f.rows[0].segment, "all");
    let all = &f.rows[0];
    let expected: f64 = items.iter().map(|i| i.probability).sum();
    assert!((all.expected_churned_accounts - expected).abs() < 1e-9);
    assert!((all.expected_churned_arr - expected).abs() < 1e-9);
    assert!(
        (all.churned_arr_low - all.churned_accounts_low as f64).abs() <= 1.0
            && (all.churned_arr_high - all.churned_accounts_high as f64).abs() <= 1.0,
        "{all:?}"
    );
    let segs: f64 = f.rows[1..].iter().map(|r| r.expected_churned_arr).sum();
    assert!((segs - all.expected_churned_arr).abs() < 1e-9);
    assert_eq!(
        f.rows[1..].iter().map(|r| r.accounts).sum::<usize>(),
        all.accounts
    );
    let smb = f.rows.iter().find(|r| r.segment == "smb").unwrap();
    let stays = smb.arr - smb.expected_churned_arr;
    assert!((smb.expected_downsold_arr.unwrap() - 0.01 * stays).abs() < 1e-9);
    let ent = f.rows.iter().find(|r| r.segment == "enterprise").unwrap();
    assert_eq!(ent.expected_downsold_arr, None);
    // Seeded: the same draws again; another seed moves the simulated interval only.
    assert_eq!(forecast::forecast(&items, &rates, 90, 7), f);
}

const HOSTILE: &str = "<script>alert(1)</script>";

/// A minimal output folder as `score` writes it, with data that tries to inject markup in
/// every text field the page shows.
fn hostile_folder(dir: &std::path::Path) {
    let header = "rank,account_id,name,segment,csm,status,arr,renewal_date,days_to_renewal,renewal_state,churn_probability,risk_tier,arr_at_risk,health_score,health_tier,driver_1,driver_2,driver_3,context_note,suggested_play,play_basis,model_id,not_scored_reason";
    let rows = [
        format!(
            "1,\"acc\"\"<b>\",{HOSTILE},\"seg<i>\",\"Ann & <Bob>\",active,120000,2027-01-10,40,\"renews <soon>\",0.5,high,60000,31.0,red,\"usage fell <50%>\",\"<img src=x onerror=alert(2)>\",,\"note </td>\",\"call <now>\",basis,\"model<1>\","
        ),
        "2,acc2,Plain Co,smb,\"Ann & <Bob>\",lapsed,1000,2026-10-01,-5,ended,0.2,medium,200,,,,,,,,,m1,".to_string(),
        format!("3,acc3,\"{HOSTILE}\",smb,,active,500,,,,,,,,,,,,,,,m1,\"no data <yet>\""),
    ];
    fs::write(
        dir.join("scored_accounts.csv"),
        format!("{header}\n{}\n", rows.join("\n")),
    )
    .unwrap();
    let items = [
        Item {
            segment: "seg<i>",
            arr: 120000.0,
            probability: 0.5,
        },
        Item {
            segment: "smb",
            arr: 1000.0,
            probability: 0.2,
        },
    ];
    let f = forecast::forecast(&items, &BTreeMap::new(), 90, 1);
    churnlab::output::forecast::write(&f, dir).unwrap();
    fs::write(
        dir.join("clusters.json"),
        format!("{{\"error\": \"too few accounts {HOSTILE}\"}}"),
    )
    .unwrap();
}

#[test]
fn every_string_from_data_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_folder(tmp.path());
    let path = report::write(tmp.path(), &ReportOptions::default()).unwrap();
    let html = fs::read_to_string(path).unwrap();
    // The page's own script is the only one; injected markup shows as text.
    assert_eq!(html.matches("<script").count(), 1, "a script tag leaked");
    assert!(!html.contains(HOSTILE));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for raw in [
        "<img src=x",
        "acc\"<b>",
        "seg<i>",
        "<Bob>",
        "<50%>",
        "</td>\"",
        "<now>",
        "<soon>",
        "<yet>",
        "model<1>",
    ] {
        assert!(!html.contains(raw), "unescaped {raw}");
    }
    for shown in [
        "&lt;img src=x onerror=alert(2)&gt;",
        "Ann &amp; &lt;Bob&gt;",
        "acc&quot;&lt;b&gt;",
        "seg&lt;i&gt;",
        "usage fell &lt;50%&gt;",
        "no data &lt;yet&gt;",
        "too few accounts &lt;script&gt;",
    ] {
        assert!(html.contains(shown), "missing {shown}");
    }
    // The CSM filter offers the escaped name once.
    assert_eq!(
        html.matches("<option value=\"Ann &amp; &lt;Bob&gt;\">")
            .count(),
        1
    );
    // No network: nothing is fetched from anywhere.
    for net in ["http://", "https://", "src=\"//", "@import"] {
        let hits = html.matches(net).count();
        let svg_ns = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        let allowed = if net == "http://" { svg_ns } else { 0 };
        assert_eq!(hits, allowed, "{net}");
    }
}

#[test]
fn headline_counts_and_sections_from_a_score_folder() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_folder(tmp.path());
    let inputs = report::load::load(tmp.path(), None, None).unwrap();
    assert_eq!(inputs.accounts.len(), 3);
    assert_eq!(inputs.accounts[0].arr_at_risk, Some(60000.0));
    assert_eq!(inputs.accounts[2].probability, None);
    let o = report::Options::default();
    // High tier and lapsed need a call; the unscored account does not.
    let calls: Vec<bool> = inputs
        .accounts
        .iter()
        .map(|a| report::html::needs_call(a, &o))
        .collect();
    assert_eq!(calls, vec![true, true, false]);
    assert_eq!(
        report::html::ranked_by(&inputs.accounts),
        "ARR at risk (churn probability × ARR)"
    );
    let mut by_p = inputs.accounts.clone();
    by_p[0].arr_at_risk = Some(1.0);
    assert_eq!(report::html::ranked_by(&by_p), "churn probability");
    let html = report::html::render(&inputs, &o);
    for id in [
        "headline",
        "list-section",
        "by-owner",
        "forecast",
        "health",
        "retention",
        "clusters",
        "plays",
        "model",
        "caveats",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // ARR 121,500 in the book; 60,200 expected to churn; 2 calls on 121,000 of ARR.
    assert!(html.contains("$121,500"));
    assert!(html.contains("$60,200"));
    assert!(html.contains("<b>2</b><span>accounts that need a call this week ($121,000 ARR)"));
    assert!(html.contains("1 account not scored: no data &lt;yet&gt;."));
    assert!(html.contains("No health score is configured"));
    // A folder with no list is refused with what to pass instead.
    let empty = tempfile::tempdir().unwrap();
    let err = report::write(empty.path(), &ReportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no scored_accounts.csv"), "{err}");
}

#[test]
fn changes_since_the_previous_run() {
    let now = tempfile::tempdir().unwrap();
    hostile_folder(now.path());
    let prev = tempfile::tempdir().unwrap();
    fs::write(
        prev.path().join("scored_accounts.csv"),
        "rank,account_id,name,risk_tier,arr_at_risk,churn_probability\n1,acc2,Plain Co,high,300,0.3\n2,gone,Old Co,high,900,0.9\n",
    )
    .unwrap();
    let o = ReportOptions {
        previous: Some(prev.path().to_path_buf()),
        ..Default::default()
    };
    let html = fs::read_to_string(report::write(now.path(), &o).unwrap()).unwrap();
    // Before 1,200 expected churned ARR; now 60,200. The first account entered the high
    // tier; acc2 (now medium) and "gone" left it; two accounts are new, one is gone.
    assert!(
        html.contains("Expected churned ARR $1,200 → $60,200 (+$59,000). 1 account entered the high tier and 2 accounts left it; 2 accounts new to the list, 1 account no longer on it."),
        "{}",
        &html[html.find("Since the previous").unwrap_or(0)..][..400]
    );
}
