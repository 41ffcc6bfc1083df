//! A rule's requirements over the candidates found for one digest, offered one at a time:
//! which listed signers have signed (`threshold` distinct ones), which required attestations
//! are verified; then the success message naming what satisfied the rule, or what is missing.
//!
//! A rule with one signer and no attestations is the common case: its first valid signature
//! satisfies it, and its messages are what they always were.
//!
//! Distinct signers: each accepted signature is tied to who made it, by facts the check
//! verified: the rule key that verified it, or (keyless) the certificate's identity (OIDC issuer
//! and subject alternative names) and key. Signatures sharing any of these are one signer, and
//! one signer counts for at most one entry of the list: the count is the largest matching of
//! signers to list entries. So two signatures by one key, or by one identity, count once, even
//! when two entries (an exact subject and a regex) both describe that identity.

use std::collections::BTreeSet;

use super::attestation;
use super::bundle::{Bundle, COSIGN_SIGN_PREDICATE, Material};
use super::check::{self, SignerRef};
use super::discovery::{Candidate, SignatureSource};
use super::failure::{
    Accepted, CandidateFailure, DiscoveryReport, FailedCandidate, Unsatisfied, VerificationFailure,
};
use super::keyless::certificate::Cert;
use super::keyless::identity::oidc_issuer;
use super::policy::{Rule, RuleAction, Signer};
use super::public_key::PublicKey;
use super::rule_roots::RuleRoots;
use crate::digest::Digest;

/// The state of one rule's check over one digest's candidates.
pub(super) struct Evaluation<'a> {
    rule: &'a Rule,
    digest: &'a Digest,
    signers: Vec<SignerRef<'a>>,
    threshold: usize,
    /// The signers come from a `signers` list: messages name them `signers[i]`.
    listed: bool,
    /// Accepted signatures, by who made them.
    groups: Vec<Group>,
    /// For each required attestation, the one that satisfied it.
    attested: Vec<Option<Attested>>,
    failures: Vec<FailedCandidate>,
    /// Where the first accepted signature was found.
    first_source: Option<SignatureSource>,
}

/// The accepted signatures of one signer.
struct Group {
    /// What ties them together: `key:<fingerprint>`, `identity:<issuer, SANs>`.
    ids: BTreeSet<String>,
    /// Each list entry that accepted a signature of this signer, with the first acceptance.
    accepted: Vec<(usize, Acceptance)>,
}

struct Acceptance {
    source: SignatureSource,
    /// The mirror that served the listing, when not the registry itself (`mirror HOST`).
    served_by: Option<String>,
    accepted: Accepted,
}

/// The attestation that satisfied a requirement.
struct Attested {
    acceptance: Acceptance,
    /// The layer (legacy) or referrer manifest (bundle) that carried it.
    artifact: Digest,
    signer: usize,
}

impl<'a> Evaluation<'a> {
    /// The evaluation of `rule` for `digest`; None for a rule that checks nothing (skip, deny).
    pub(super) fn new(rule: &'a Rule, digest: &'a Digest, roots: &'a RuleRoots) -> Option<Self> {
        let (signers, threshold, listed) = match rule.action() {
            RuleAction::Keyless(identity) => (
                vec![SignerRef::Keyless(identity, roots.for_identity(identity))],
                1,
                false,
            ),
            RuleAction::PublicKey(key) => (vec![SignerRef::Key(key)], 1, false),
            RuleAction::Signers(set) => (
                set.signers()
                    .iter()
                    .map(|signer| match signer {
                        Signer::Keyless(identity) => {
                            SignerRef::Keyless(identity, roots.for_identity(identity))
                        }
                        Signer::PublicKey(key) => SignerRef::Key(key),
                    })
                    .collect(),
                set.threshold(),
                true,
            ),
            RuleAction::Skip | RuleAction::Deny => return None,
        };
        Some(Evaluation {
            rule,
            digest,
            signers,
            threshold,
            listed,
            groups: Vec::new(),
            attested: rule.attestations().iter().map(|_| None).collect(),
            failures: Vec::new(),
            first_source: None,
        })
    }

    /// One signer, no attestations: the first valid signature decides, as always.
    fn is_simple(&self) -> bool {
        !self.listed && self.attested.is_empty()
    }

    /// Check one candidate against what is still missing (nothing is checked twice once met).
    /// `served_by`: the mirror the candidate's listing came from, for the success message.
    pub(super) fn offer(
        &mut self,
        source: SignatureSource,
        served_by: Option<&str>,
        candidate: &Candidate,
    ) {
        if self.is_attestation(candidate) {
            if self.attested.iter().any(Option::is_none) {
                self.offer_attestation(source, served_by, candidate);
            }
        } else if self.signed_by() < self.threshold {
            self.offer_signature(source, served_by, candidate);
        }
    }

    /// Whether every requirement is met.
    pub(super) fn done(&self) -> bool {
        self.signed_by() >= self.threshold && self.attested.iter().all(Option::is_some)
    }

    /// Where the first accepted signature was found.
    pub(super) fn first_source(&self) -> Option<SignatureSource> {
        self.first_source
    }

    /// Whether `candidate` is offered as an attestation: an `.att` envelope, or (for a rule
    /// that requires attestations) a bundle of another predicate type than cosign's signature.
    /// Without attestations required, a bundle attestation is checked as a signature, and fails
    /// as one (`WrongPayloadType`).
    fn is_attestation(&self, candidate: &Candidate) -> bool {
        match candidate {
            Candidate::LegacyAttestation(_) => true,
            Candidate::Legacy(_) => false,
            Candidate::Bundle(found) => {
                !self.attested.is_empty()
                    && Bundle::parse(&found.json)
                        .ok()
                        .and_then(|bundle| bundle.predicate_type())
                        .is_some_and(|p| p != COSIGN_SIGN_PREDICATE)
            }
        }
    }

    fn offer_signature(
        &mut self,
        source: SignatureSource,
        served_by: Option<&str>,
        candidate: &Candidate,
    ) {
        let mut accepted = Vec::new();
        let mut failures = Vec::new();
        for (index, signer) in self.signers.iter().enumerate() {
            match check::signature(candidate, self.digest, *signer) {
                Ok(acceptance) => accepted.push((
                    index,
                    Acceptance {
                        source,
                        served_by: served_by.map(str::to_owned),
                        accepted: acceptance,
                    },
                )),
                Err(failure) => failures.push((index, failure)),
            }
        }
        if accepted.is_empty() {
            self.reject(source, candidate, failures);
            return;
        }
        self.first_source.get_or_insert(source);
        let by: Vec<usize> = accepted.iter().map(|(index, _)| *index).collect();
        let mut group = Group {
            ids: self.signer_ids(candidate, &by),
            accepted: Vec::new(),
        };
        // Merge every group this signature ties to; earlier acceptances stay first.
        let (tied, apart): (Vec<Group>, Vec<Group>) = std::mem::take(&mut self.groups)
            .into_iter()
            .partition(|g| !g.ids.is_disjoint(&group.ids));
        self.groups = apart;
        for old in tied {
            group.ids.extend(old.ids);
            for (index, acceptance) in old.accepted {
                if !group.accepted.iter().any(|(i, _)| *i == index) {
                    group.accepted.push((index, acceptance));
                }
            }
        }
        for (index, acceptance) in accepted {
            if !group.accepted.iter().any(|(i, _)| *i == index) {
                group.accepted.push((index, acceptance));
            }
        }
        self.groups.push(group);
    }

    fn offer_attestation(
        &mut self,
        source: SignatureSource,
        served_by: Option<&str>,
        candidate: &Candidate,
    ) {
        let mut failures = Vec::new();
        let mut verified = None;
        for (index, signer) in self.signers.iter().enumerate() {
            match attestation::verify(candidate, self.digest, *signer) {
                Ok(found) => {
                    verified = Some((index, found));
                    break;
                }
                Err(failure) => failures.push((index, failure)),
            }
        }
        let Some((signer, (accepted, statement))) = verified else {
            self.reject(source, candidate, failures);
            return;
        };
        let requirements = self.rule.attestations();
        let of_type = |i: &usize| requirements[*i].predicate_type() == statement.predicate_type;
        let open: Vec<usize> = (0..requirements.len())
            .filter(|i| self.attested[*i].is_none())
            .filter(of_type)
            .collect();
        if open.is_empty() {
            // Another attestation of a type already satisfied needs nothing more.
            if !(0..requirements.len()).any(|i| of_type(&i)) {
                let mut expected: Vec<String> = Vec::new();
                for (requirement, attested) in requirements.iter().zip(&self.attested) {
                    let wanted = requirement.predicate_type();
                    if attested.is_none() && !expected.iter().any(|e| e == wanted) {
                        expected.push(wanted.to_owned());
                    }
                }
                self.record(
                    source,
                    CandidateFailure::PredicateTypeMismatch {
                        expected,
                        found: statement.predicate_type,
                    },
                );
            }
            return;
        }
        let mut first_unmet = None;
        let mut met = false;
        for index in open {
            match attestation::conditions_hold(&requirements[index], &statement.predicate) {
                Ok(()) => {
                    met = true;
                    self.attested[index] = Some(Attested {
                        acceptance: Acceptance {
                            source,
                            served_by: served_by.map(str::to_owned),
                            accepted: accepted.clone(),
                        },
                        artifact: artifact_digest(candidate),
                        signer,
                    });
                }
                Err(why) => {
                    first_unmet.get_or_insert(why);
                }
            }
        }
        if let (false, Some(why)) = (met, first_unmet) {
            self.record(source, CandidateFailure::ConditionFailed(why));
        }
    }

    /// Record why no signer accepted `candidate`: for a candidate with a certificate, the
    /// first keyless signer's reason, else the first key's (a key's "signed by another key"
    /// says more of a key-signed candidate than a keyless signer's "no certificate").
    fn reject(
        &mut self,
        source: SignatureSource,
        candidate: &Candidate,
        failures: Vec<(usize, CandidateFailure)>,
    ) {
        let has_certificate = certificate_der(candidate).is_some();
        let preferred = failures
            .iter()
            .position(|(index, _)| {
                matches!(self.signers[*index], SignerRef::Keyless(..)) == has_certificate
            })
            .unwrap_or(0);
        if let Some((_, failure)) = failures.into_iter().nth(preferred) {
            self.record(source, failure);
        }
    }

    fn record(&mut self, source: SignatureSource, failure: CandidateFailure) {
        tracing::debug!(digest = %self.digest, source = source.describe(), %failure, "candidate rejected");
        self.failures.push(FailedCandidate { source, failure });
    }

    /// What ties an accepted signature to its signer: each rule key that verified it, and
    /// (when a keyless entry accepted it, so the certificate was verified) the certificate's
    /// identity and key.
    fn signer_ids(&self, candidate: &Candidate, by: &[usize]) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        let mut keyless = false;
        for index in by {
            match self.signers[*index] {
                SignerRef::Key(key) => {
                    ids.insert(key_id(key));
                }
                SignerRef::Keyless(..) => keyless = true,
            }
        }
        if keyless
            && let Some(cert) = certificate_der(candidate).and_then(|der| Cert::parse(&der).ok())
        {
            let issuer = oidc_issuer(&cert).ok().flatten().unwrap_or_default();
            ids.insert(format!(
                "identity:{issuer}\n{}",
                cert.subject_alt_names().join("\n")
            ));
            if let Ok(key) = PublicKey::from_certificate_der(&cert.der) {
                ids.insert(key_id(&key));
            }
        }
        ids
    }

    /// For each list entry, the group assigned to it in a largest matching of signers (groups)
    /// to entries.
    fn matching(&self) -> Vec<Option<usize>> {
        let mut owner = vec![None; self.signers.len()];
        for group in 0..self.groups.len() {
            let mut seen = vec![false; self.signers.len()];
            self.augment(group, &mut owner, &mut seen);
        }
        owner
    }

    /// Kuhn's augmenting path from `group`.
    fn augment(&self, group: usize, owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
        for (entry, _) in &self.groups[group].accepted {
            if seen[*entry] {
                continue;
            }
            seen[*entry] = true;
            if owner[*entry].is_none_or(|other| self.augment(other, owner, seen)) {
                owner[*entry] = Some(group);
                return true;
            }
        }
        false
    }

    /// How many distinct listed signers have signed.
    fn signed_by(&self) -> usize {
        self.matching().iter().flatten().count()
    }

    /// The acceptances that satisfy the rule: each matched entry's first acceptance.
    fn matched(&self) -> Vec<(usize, &Acceptance)> {
        self.matching()
            .into_iter()
            .enumerate()
            .filter_map(|(entry, group)| {
                let group = &self.groups[group?];
                group
                    .accepted
                    .iter()
                    .find(|(i, _)| *i == entry)
                    .map(|(_, acceptance)| (entry, acceptance))
            })
            .collect()
    }

    /// Unix seconds after which the success no longer holds (a certificate checked at the
    /// current time), the soonest of what satisfied the rule.
    pub(super) fn valid_until(&self) -> Option<i64> {
        let signatures = self.matched().into_iter().map(|(_, a)| a);
        let attestations = self.attested.iter().flatten().map(|a| &a.acceptance);
        signatures
            .chain(attestations)
            .filter_map(|a| a.accepted.valid_until)
            .min()
    }

    /// `verified by rule 0 (…) with public key (ECDSA P-256): legacy .sig signature from the
    /// sha256-<hex>.sig tag`, then each further signer and each attestation.
    pub(super) fn success_message(&self) -> String {
        let mut parts = Vec::new();
        for (entry, acceptance) in self.matched() {
            let how = describe(acceptance, None);
            parts.push(if self.listed {
                format!("{}: {how}", self.entry_name(entry))
            } else {
                how
            });
        }
        for (requirement, attested) in self.rule.attestations().iter().zip(&self.attested) {
            let Some(attested) = attested else { continue };
            let signed_by = if self.listed {
                format!(", signed by {}", self.entry_name(attested.signer))
            } else {
                String::new()
            };
            parts.push(format!(
                "attestation {:?}{signed_by}: {}",
                requirement.predicate_type(),
                describe(&attested.acceptance, Some(&attested.artifact)),
            ));
        }
        // A keyless rule checked against a named trusted root says which.
        let root = match self.rule.action() {
            RuleAction::Keyless(identity) => identity
                .trusted_root()
                .map(|name| format!(" (trusted root {name:?})"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        format!(
            "verified by {} with {}{root}: {}",
            self.rule,
            self.rule.describe_method(),
            parts.join("; ")
        )
    }

    /// Why the rule is not satisfied, with every candidate that failed.
    pub(super) fn failure(self, discovery: DiscoveryReport) -> VerificationFailure {
        if self.is_simple() {
            return VerificationFailure::Rejected {
                rule: self.rule.to_string(),
                candidates: self.failures,
                discovery,
            };
        }
        let mut missing = Vec::new();
        let signed = self.matched();
        if signed.len() < self.threshold {
            missing.push(if self.listed {
                let names: Vec<String> = signed.iter().map(|(e, _)| self.entry_name(*e)).collect();
                let which = if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                };
                format!(
                    "{} of the {} required signers verified{which}",
                    signed.len(),
                    self.threshold
                )
            } else {
                format!(
                    "no valid signature by the rule's {}",
                    self.rule.describe_method()
                )
            });
        }
        for (requirement, attested) in self.rule.attestations().iter().zip(&self.attested) {
            if attested.is_none() {
                let conditions = if requirement.conditions().is_empty() {
                    ""
                } else {
                    " meeting its conditions"
                };
                missing.push(format!(
                    "no valid attestation of predicate type {:?}{conditions}",
                    requirement.predicate_type()
                ));
            }
        }
        VerificationFailure::Unsatisfied(Box::new(Unsatisfied {
            rule: self.rule.to_string(),
            missing: missing.join("; "),
            candidates: self.failures,
            discovery,
        }))
    }

    fn entry_name(&self, entry: usize) -> String {
        format!("signers[{entry}]")
    }
}

/// `legacy .sig signature from the sha256-<hex>.sig tag; SCT not checked: …`; with the
/// digest of what carried it, `… from the sha256-<hex>.att tag (sha256:0123456789ab…); …`.
fn describe(acceptance: &Acceptance, artifact: Option<&Digest>) -> String {
    format!(
        "{} from the {}{}{}{}",
        acceptance.accepted.format,
        acceptance.source.describe(),
        artifact
            .map(|d| format!(" ({})", short(d)))
            .unwrap_or_default(),
        acceptance
            .served_by
            .as_deref()
            .map(|mirror| format!(" (served by {mirror})"))
            .unwrap_or_default(),
        acceptance
            .accepted
            .note
            .map(|n| format!("; {n}"))
            .unwrap_or_default()
    )
}

/// `sha256:0123456789ab…`
fn short(digest: &Digest) -> String {
    let hex = digest.hex();
    format!("{}:{}…", digest.algorithm(), &hex[..hex.len().min(12)])
}

fn key_id(key: &PublicKey) -> String {
    format!("key:{}", hex::encode(key.fingerprint()))
}

/// The signing certificate a candidate carries (DER), if any.
fn certificate_der(candidate: &Candidate) -> Option<Vec<u8>> {
    let pem_text = match candidate {
        Candidate::Legacy(legacy) => legacy.certificate.as_deref(),
        Candidate::LegacyAttestation(attestation) => attestation.certificate.as_deref(),
        Candidate::Bundle(found) => {
            return match Bundle::parse(&found.json).ok()?.material {
                Material::Certificates(certs) => certs.into_iter().next(),
                Material::PublicKey { .. } => None,
            };
        }
    }?;
    let block = pem::parse(pem_text).ok()?;
    (block.tag() == "CERTIFICATE").then(|| block.contents().to_vec())
}

/// The digest naming what carried a candidate: its layer, or its referrer manifest.
fn artifact_digest(candidate: &Candidate) -> Digest {
    match candidate {
        Candidate::Legacy(legacy) => legacy.layer_digest.clone(),
        Candidate::LegacyAttestation(attestation) => attestation.layer_digest.clone(),
        Candidate::Bundle(found) => found.manifest_digest.clone(),
    }
}
