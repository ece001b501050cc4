//! Drug names inside a record medication entry (issue 4, "Order context"; LABELS.md
//! `MEDICATION`: the span is the name only). Pharmacy systems store entries with strength,
//! units, dosage form and release suffix (`lenacapavir 463.5 mg/1.5 mL injection`,
//! `zolvaprine-XR`) and a generic in parentheses after a brand (`Apretude (cabotegravir)`);
//! people write only the name. What is left once those are removed is the name.

use super::word_keys;

/// Strengths, units, dosage forms, routes and schedule words (keys, English and Spanish).
const DOSE_WORDS: &str = "mg mcg ug g gm gr kg ml l dl iu u units unit meq mmol mol pct percent \
    tablet tablets tab tabs caplet caplets capsule capsules cap caps injection injections inj \
    injectable solution soln sol suspension susp syrup elixir liquid cream ointment oint gel \
    lotion foam patch patches inhaler inhalation aerosol nebulizer neb spray nasal drops drop \
    ophthalmic otic oral orally po iv im sc sq subq subcutaneous intramuscular intravenous \
    topical vial vials pen pens autoinjector syringe syringes prefilled kit powder packet \
    packets sachet lozenge suppository film strip chewable dispersible effervescent \
    disintegrating extended release released delayed sustained controlled modified immediate \
    once twice daily weekly monthly bid tid qid qd qhs prn each per of with in and or x by mouth \
    take dose doses day days week weeks month every refill refills qty supply count ct generic \
    brand tableta tabletas comprimido comprimidos capsula capsulas inyeccion inyectable solucion \
    suspension jarabe crema pomada gotas parche via diario diaria al dia cada con y de por";

/// Release and salt suffixes: part of an entry, optional in text (`zolvaprine-XR`).
const RELEASE_SUFFIXES: &str = "er xr sr cr la xl dr ir cd xt ec odt hcl xrt ld sa ds es hct";

/// Words that are drug-related but too general to hide when written alone (`folic acid`: the
/// phrase is hidden, `acid` alone is not).
const GENERIC_WORDS: &str = "acid acido vitamin vitamina vitamins vitaminas sodium sodio \
    potassium potasio calcium calcio magnesium magnesio iron hierro zinc chloride cloruro \
    sulfate sulfato sulphate oxide oxido acetate acetato citrate citrato phosphate fosfato \
    carbonate carbonato tartrate succinate maleate besylate mesylate fumarate bromide \
    hydrochloride clorhidrato hydrate salt sal complex plus forte junior children's childrens \
    adult pediatric infantil prenatal multi multivitamin insulin insulina human humana regular \
    rapid long acting short flexpen kwikpen solostar hfa diskus respimat ellipta vitamine d b c \
    e k a";

/// Whether `key` is a release or salt suffix that may follow a drug name.
pub(super) fn is_release_suffix(key: &str) -> bool {
    listed(RELEASE_SUFFIXES, key)
}

/// Whether `w` is one of the space-separated words of `list`.
fn listed(list: &str, w: &str) -> bool {
    list.split_ascii_whitespace().any(|x| x == w)
}

/// Whether a word of an entry is part of a drug name (not strength, unit, form or suffix).
fn is_name_word(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_alphabetic)
        && !listed(DOSE_WORDS, w)
        && !listed(RELEASE_SUFFIXES, w)
}

/// The drug-name phrases of one medication entry, as keys: each run of name words (per
/// segment: outside parentheses, each parenthesised part, each side of `/`, `+`, `,`, `;`),
/// and each distinctive word of a longer run on its own.
pub(super) fn drug_phrases(entry: &str) -> Vec<Vec<String>> {
    let mut segments: Vec<String> = vec![String::new()];
    let mut outside = String::new();
    let mut depth = 0usize;
    for c in entry.chars() {
        match c {
            '(' | '[' => {
                depth += 1;
                segments.push(String::new());
                outside.push(' ');
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                segments.push(String::new());
            }
            '/' | '+' | ',' | ';' if depth == 0 => outside.push('\n'),
            '/' | '+' | ',' | ';' => segments.push(String::new()),
            _ if depth > 0 => {
                if let Some(s) = segments.last_mut() {
                    s.push(c);
                }
            }
            _ => outside.push(c),
        }
    }
    segments.extend(outside.split('\n').map(str::to_owned));
    let mut out: Vec<Vec<String>> = Vec::new();
    for seg in &segments {
        let mut run: Vec<String> = Vec::new();
        for w in word_keys(seg)
            .into_iter()
            .chain(std::iter::once(String::new()))
        {
            if is_name_word(&w) {
                run.push(w);
                continue;
            }
            let run = std::mem::take(&mut run);
            if run.iter().all(|w| w.chars().count() < 3) {
                continue;
            }
            if run.len() > 1 {
                for w in &run {
                    if w.chars().count() >= 4 && !listed(GENERIC_WORDS, w) {
                        out.push(vec![w.clone()]);
                    }
                }
            }
            out.push(run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::drug_phrases;

    fn phrases(e: &str) -> Vec<String> {
        let mut v: Vec<String> = drug_phrases(e).iter().map(|p| p.join(" ")).collect();
        v.sort();
        v
    }

    #[test]
    fn strength_form_and_release_suffix_are_not_part_of_the_name() {
        assert_eq!(
            phrases("lenacapavir 463.5 mg/1.5 mL injection"),
            ["lenacapavir"]
        );
        assert_eq!(
            phrases("Apretude (cabotegravir) 600 mg"),
            ["apretude", "cabotegravir"]
        );
        assert_eq!(phrases("zolvaprine-XR"), ["zolvaprine"]);
        assert_eq!(phrases("Metformin HCl ER 500 mg tablet"), ["metformin"]);
        assert_eq!(phrases("500 mg"), Vec::<String>::new());
    }

    #[test]
    fn multi_word_names_keep_the_phrase_and_their_distinctive_words() {
        assert_eq!(phrases("Ácido fólico 5 mg"), ["acido folico", "folico"]);
        assert_eq!(
            phrases("insulin glargine 100 units/mL pen"),
            ["glargine", "insulin glargine"]
        );
        assert_eq!(
            phrases("emtricitabine/tenofovir 200/300"),
            ["emtricitabine", "tenofovir"]
        );
        assert_eq!(phrases("Vitamin D3 1000 IU"), ["vitamin d3"]);
        assert_eq!(phrases("potassium chloride"), ["potassium chloride"]);
    }
}
