//! Roles and teams: who may see and do what, from a TOML policy file. Pure: the decision is a function of
//! the policy, the person and the pipeline (its name and, where a grant asks for them, its tags).
//!
//! ```toml
//! contact = "the ML platform team (#ml-platform)"   # whom people without a grant should ask
//!
//! [[grant]]
//! groups = ["fraud-ds"]                             # and/or users = ["ana@example.com"]
//! role = "operator"                                 # viewer | operator | admin
//! pipelines = ["fraud-*", "Shared?Pipeline"]        # name globs (case-insensitive, as SageMaker compares)
//! tags = { team = "fraud" }                          # and/or pipelines carrying all of these tags
//!
//! [[grant]]
//! groups = ["model-review"]
//! role = "operator"
//! model-groups = ["fraud-*"]                        # model package groups, by name glob
//! model-group-tags = { team = "fraud" }              # and/or groups carrying all of these tags
//! ```
//!
//! A grant covers the pipelines matching any of its globs or carrying all of its tags; with neither (and no
//! model groups), every pipeline. The most permissive role of the grants that cover a pipeline wins. `admin`
//! covers every pipeline and the whole activity log, so an admin grant names no pipelines.
//!
//! Model package groups: a version belongs to the pipeline that registered it, so whoever may read or operate
//! that pipeline may see or decide on it. A grant naming `model-groups` (or `model-group-tags`) covers only
//! those groups (no pipeline)
//! and, for the people it applies to, *replaces* that rule on the groups it names: the most permissive role
//! of those grants is theirs on the group's versions, whoever registered them. So a policy can hand a group to
//! reviewers (operators) or keep a pipeline's operators from approving its models (viewers).

use serde::Deserialize;

pub use stepline_types::model::access::Role;

/// What a person is known by: their name and the groups the identity provider (or proxy) gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person<'a> {
    pub user: &'a str,
    pub groups: &'a [String],
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub contact: Option<String>,
    grants: Vec<Grant>,
}

#[derive(Clone, Debug, PartialEq)]
struct Grant {
    users: Vec<String>,
    groups: Vec<String>,
    role: Role,
    pipelines: Vec<Glob>,
    tags: Vec<(String, String)>,
    model_groups: Vec<Glob>,
    model_group_tags: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    contact: Option<String>,
    #[serde(default, rename = "grant")]
    grants: Vec<GrantFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    role: Role,
    #[serde(default)]
    pipelines: Vec<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "model-groups")]
    model_groups: Vec<String>,
    #[serde(default, rename = "model-group-tags")]
    model_group_tags: std::collections::BTreeMap<String, String>,
}

/// What the policy says of one pipeline for one person, before or after its tags are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Settled: this role (or none).
    Role(Option<Role>),
    /// A grant that applies to the person depends on the pipeline's tags and could give more than the
    /// name alone gives: ask the tags.
    NeedsTags,
}

impl Policy {
    /// Everyone who logs in may read every pipeline: the default without a policy file.
    pub fn viewers_everywhere() -> Policy {
        Policy {
            contact: None,
            grants: vec![Grant {
                users: vec!["*".into()],
                groups: vec![],
                role: Role::Viewer,
                pipelines: vec![],
                tags: vec![],
                model_groups: vec![],
                model_group_tags: vec![],
            }],
        }
    }

    /// The demo's policy (no login): everyone operates everything.
    pub fn operators_everywhere() -> Policy {
        let mut p = Policy::viewers_everywhere();
        p.grants[0].role = Role::Operator;
        p
    }

    pub fn parse(text: &str) -> Result<Policy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut grants = vec![];
        for (i, g) in file.grants.into_iter().enumerate() {
            let n = i + 1;
            if g.users.is_empty() && g.groups.is_empty() {
                return Err(format!("grant {n}: names no users and no groups (users = [\"*\"] means everyone)"));
            }
            let names_groups = !g.model_groups.is_empty() || !g.model_group_tags.is_empty();
            if g.role == Role::Admin && (!g.pipelines.is_empty() || !g.tags.is_empty() || names_groups) {
                return Err(format!(
                    "grant {n}: an admin grant covers every pipeline and the whole activity log; remove its \
                     pipelines, tags and model groups, or make it an operator grant"
                ));
            }
            let model_groups = g
                .model_groups
                .iter()
                .map(|p| Glob::new(p).map_err(|e| format!("grant {n}: model-groups: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let pipelines = g
                .pipelines
                .iter()
                .map(|p| Glob::new(p).map_err(|e| format!("grant {n}: pipelines: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            grants.push(Grant {
                users: g.users.iter().map(|u| u.trim().to_lowercase()).collect(),
                groups: g.groups,
                role: g.role,
                pipelines,
                tags: g.tags.into_iter().collect(),
                model_groups,
                model_group_tags: g.model_group_tags.into_iter().collect(),
            });
        }
        Ok(Policy { contact: file.contact.filter(|c| !c.trim().is_empty()), grants })
    }

    fn applies(grant: &Grant, who: &Person) -> bool {
        grant.users.iter().any(|u| u == "*" || u.eq_ignore_ascii_case(who.user) || *u == who.user.to_lowercase())
            || grant.groups.iter().any(|g| who.groups.contains(g))
    }

    /// The person's role for the pipeline `name`, with its `tags` when known.
    pub fn decide(&self, who: &Person, name: &str, tags: Option<&[(String, String)]>) -> Decision {
        let mut best: Option<Role> = None;
        let mut undecided: Option<Role> = None;
        for g in self.grants.iter().filter(|g| Self::applies(g, who)) {
            let by_name = g.pipelines.iter().any(|p| p.matches(name));
            let everywhere = g.is_everywhere();
            let covered = if everywhere || by_name {
                Some(true)
            } else if g.tags.is_empty() {
                Some(false)
            } else {
                tags.map(|t| g.tags.iter().all(|want| t.iter().any(|have| have == want)))
            };
            match covered {
                Some(true) => best = best.max(Some(g.role)),
                Some(false) => {}
                None => undecided = undecided.max(Some(g.role)),
            }
        }
        match undecided {
            Some(r) if best.is_none_or(|b| r > b) => Decision::NeedsTags,
            _ => Decision::Role(best),
        }
    }

    /// The role the person has on every pipeline whatever its name or tags (admin, or a grant without
    /// pipelines and tags): what the activity log and the top bar say outside a pipeline.
    pub fn everywhere(&self, who: &Person) -> Option<Role> {
        self.grants.iter().filter(|g| Self::applies(g, who) && g.is_everywhere()).map(|g| g.role).max()
    }

    /// What the person's grants naming model package groups say of `group`'s versions, with its `tags` when
    /// known: `Role(Some(role))`, the most permissive of those naming it; `Role(None)` when none of theirs
    /// names it (then the pipeline that registered a version decides); `NeedsTags` when a grant of theirs
    /// names groups by tags and the group's are not known.
    pub fn decide_model_group(&self, who: &Person, group: &str, tags: Option<&[(String, String)]>) -> Decision {
        let mut best: Option<Role> = None;
        for g in self.grants.iter().filter(|g| Self::applies(g, who) && g.names_model_groups()) {
            let by_name = g.model_groups.iter().any(|p| p.matches(group));
            let by_tags = match (g.model_group_tags.is_empty(), tags) {
                (true, _) => false,
                (false, Some(t)) => g.model_group_tags.iter().all(|want| t.iter().any(|have| have == want)),
                (false, None) => return Decision::NeedsTags,
            };
            if by_name || by_tags {
                best = best.max(Some(g.role));
            }
        }
        Decision::Role(best)
    }

    /// Whether the person has any grant at all (one without is told whom to ask).
    pub fn knows(&self, who: &Person) -> bool {
        self.grants.iter().any(|g| Self::applies(g, who))
    }
}

impl Grant {
    /// A grant that names no pipelines, tags or model groups covers every pipeline.
    fn is_everywhere(&self) -> bool {
        self.pipelines.is_empty() && self.tags.is_empty() && !self.names_model_groups()
    }

    fn names_model_groups(&self) -> bool {
        !self.model_groups.is_empty() || !self.model_group_tags.is_empty()
    }
}

/// A pipeline-name glob: `*` any run of characters, `?` one; compared case-insensitively, as SageMaker
/// compares pipeline names.
#[derive(Clone, Debug, PartialEq)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let ok = !pattern.is_empty()
            && pattern.len() <= 256
            && pattern.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'));
        if !ok {
            return Err(format!(
                "'{}' is not a pipeline name pattern (letters, digits, '-', '*' and '?')",
                stepline_types::text::clip(pattern, 60)
            ));
        }
        Ok(Glob(pattern.to_ascii_lowercase().chars().collect()))
    }

    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.to_ascii_lowercase().chars().collect();
        // Iterative wildcard matching with one backtrack point: linear in practice, no recursion.
        let (p, s) = (&self.0, &name);
        let (mut i, mut j) = (0, 0);
        let (mut star, mut mark) = (None, 0);
        while j < s.len() {
            if i < p.len() && (p[i] == '?' || p[i] == s[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
                star = Some(i);
                mark = j;
                i += 1;
            } else if let Some(st) = star {
                i = st + 1;
                mark += 1;
                j = mark;
            } else {
                return false;
            }
        }
        while i < p.len() && p[i] == '*' {
            i += 1;
        }
        i == p.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r##"
contact = "#ml-platform"

[[grant]]
groups = ["fraud-ds"]
role = "operator"
pipelines = ["fraud-*"]

[[grant]]
groups = ["fraud-ds", "analysts"]
role = "viewer"
tags = { team = "fraud" }

[[grant]]
users = ["Ben@Example.com"]
role = "operator"
tags = { team = "churn", stage = "dev" }

[[grant]]
groups = ["everyone-reads"]
role = "viewer"

[[grant]]
groups = ["platform"]
role = "admin"
"##;

    fn person<'a>(user: &'a str, groups: &'a [String]) -> Person<'a> {
        Person { user, groups }
    }

    fn g(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn tags(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn globs_match_names_case_insensitively() {
        let glob = Glob::new("fraud-*").unwrap();
        assert!(glob.matches("fraud-train") && glob.matches("FRAUD-") && !glob.matches("antifraud-x"));
        let q = Glob::new("a?c*d").unwrap();
        assert!(q.matches("abcd") && q.matches("aXcYYd") && !q.matches("acd") && !q.matches("abcde"));
        assert!(Glob::new("*").unwrap().matches("anything"));
        assert!(Glob::new("**a**").unwrap().matches("xxaxx"));
        assert!(Glob::new("a/b").is_err() && Glob::new("").is_err() && Glob::new("[ab]").is_err());
        // A pathological pattern still answers at once (no exponential backtracking).
        let long = "a".repeat(200);
        assert!(!Glob::new("*a*a*a*a*a*a*a*a*b").unwrap().matches(&long));
    }

    #[test]
    fn grants_by_group_name_and_tags_and_the_most_permissive_wins() {
        let p = Policy::parse(POLICY).unwrap();
        assert_eq!(p.contact.as_deref(), Some("#ml-platform"));
        let fraud = g(&["fraud-ds"]);
        let who = person("ana", &fraud);
        // By name: operator, no need for tags (nothing tag-based could give more).
        assert_eq!(p.decide(&who, "Fraud-Train", None), Decision::Role(Some(Role::Operator)));
        // Not by name: a tag grant could make it visible.
        assert_eq!(p.decide(&who, "churn-train", None), Decision::NeedsTags);
        assert_eq!(
            p.decide(&who, "churn-train", Some(&tags(&[("team", "fraud")]))),
            Decision::Role(Some(Role::Viewer))
        );
        assert_eq!(p.decide(&who, "churn-train", Some(&tags(&[("team", "churn")]))), Decision::Role(None));
        // Several groups: the union of their grants.
        let both = g(&["analysts", "everyone-reads"]);
        assert_eq!(p.decide(&person("cy", &both), "x", None), Decision::Role(Some(Role::Viewer)));
        // All of a grant's tags must be there; users compare case-insensitively.
        let none: Vec<String> = vec![];
        let ben = person("ben@example.com", &none);
        assert_eq!(p.decide(&ben, "c", Some(&tags(&[("team", "churn")]))), Decision::Role(None));
        assert_eq!(
            p.decide(&ben, "c", Some(&tags(&[("stage", "dev"), ("team", "churn")]))),
            Decision::Role(Some(Role::Operator))
        );
        // Admin: everything, whatever the tags.
        let platform = g(&["platform"]);
        assert_eq!(p.decide(&person("root", &platform), "any", None), Decision::Role(Some(Role::Admin)));
        assert_eq!(p.everywhere(&person("root", &platform)), Some(Role::Admin));
        assert_eq!(p.everywhere(&who), None);
    }

    #[test]
    fn grants_naming_model_groups_cover_those_groups_and_no_pipeline() {
        let p = Policy::parse(
            r#"
[[grant]]
groups = ["review"]
role = "operator"
model-groups = ["fraud-*"]

[[grant]]
groups = ["review"]
role = "viewer"
model-groups = ["Fraud-Models"]

[[grant]]
groups = ["ds"]
role = "viewer"
model-groups = ["churn"]

[[grant]]
groups = ["ds"]
role = "operator"
model-group-tags = { team = "risk", stage = "prod" }
"#,
        )
        .unwrap();
        let review = g(&["review"]);
        let who = person("rita", &review);
        // The most permissive of the grants naming the group.
        let role =
            |who: &Person, group: &str, tags: Option<&[(String, String)]>| p.decide_model_group(who, group, tags);
        assert_eq!(role(&who, "fraud-models", None), Decision::Role(Some(Role::Operator)));
        assert_eq!(role(&who, "churn", None), Decision::Role(None), "not named for her: the pipeline decides");
        // A grant of model groups is no grant of pipelines, nor of everything.
        assert_eq!(p.decide(&who, "fraud-models", None), Decision::Role(None));
        assert_eq!(p.everywhere(&who), None);
        let ds = g(&["ds"]);
        let dan = person("dan", &ds);
        assert_eq!(role(&dan, "CHURN", None), Decision::NeedsTags, "a grant of his names groups by tags");
        assert_eq!(role(&dan, "CHURN", Some(&[])), Decision::Role(Some(Role::Viewer)), "case-insensitive");
        let risk = tags(&[("team", "risk"), ("stage", "prod")]);
        assert_eq!(role(&dan, "scores", Some(&risk)), Decision::Role(Some(Role::Operator)), "by its tags");
        assert_eq!(role(&dan, "scores", Some(&tags(&[("team", "risk")]))), Decision::Role(None), "all of them");
        let bad = "[[grant]]\nusers = [\"a\"]\nrole = \"admin\"\nmodel-groups = [\"x\"]\n";
        assert!(Policy::parse(bad).unwrap_err().contains("model groups"));
        let glob = "[[grant]]\nusers = [\"a\"]\nrole = \"viewer\"\nmodel-groups = [\"a/b\"]\n";
        assert!(Policy::parse(glob).unwrap_err().contains("model-groups"));
    }

    #[test]
    fn unknown_users_get_nothing_and_are_told_so() {
        let p = Policy::parse(POLICY).unwrap();
        let none: Vec<String> = vec![];
        let stranger = person("mallory", &none);
        assert!(!p.knows(&stranger));
        assert_eq!(p.decide(&stranger, "fraud-train", Some(&tags(&[("team", "fraud")]))), Decision::Role(None));
        // Groups are exact: a group that merely contains a granted name is not it.
        let near = g(&["fraud-ds-alumni"]);
        assert_eq!(p.decide(&person("x", &near), "fraud-train", None), Decision::Role(None));
    }

    #[test]
    fn mistakes_in_the_file_are_named() {
        let e = Policy::parse("[[grant]]\nrole = \"viewer\"\n").unwrap_err();
        assert!(e.contains("grant 1") && e.contains("no users"), "{e}");
        let e = Policy::parse("[[grant]]\nusers=[\"a\"]\nrole = \"god\"\n").unwrap_err();
        assert!(e.contains("god"), "{e}");
        let e = Policy::parse("[[grant]]\nusers=[\"a\"]\nrole = \"admin\"\npipelines=[\"x\"]\n").unwrap_err();
        assert!(e.contains("admin grant covers every pipeline"), "{e}");
        let e = Policy::parse("[[grant]]\nusers=[\"a\"]\nrole = \"viewer\"\npipelines=[\"a b\"]\n").unwrap_err();
        assert!(e.contains("grant 1: pipelines: 'a b'"), "{e}");
        let e = Policy::parse("[[grants]]\nusers=[\"a\"]\nrole = \"viewer\"\n").unwrap_err();
        assert!(e.contains("grants"), "{e}");
    }

    #[test]
    fn defaults_without_a_file() {
        let none: Vec<String> = vec![];
        let anyone = person("x", &none);
        assert_eq!(Policy::viewers_everywhere().decide(&anyone, "p", None), Decision::Role(Some(Role::Viewer)));
        assert_eq!(Policy::operators_everywhere().everywhere(&anyone), Some(Role::Operator));
    }
}
