// The book's search scorer (_config.yml: html_search_scorer). Sphinx's defaults, plus one rule:
// a chapter whose own title contains the query comes first. Without it, a page that merely
// mentions "masking" in a section heading (the review chapter, the glossary) ties with the
// chapter about masking, and ties are broken by file name.
var Scorer = {
  score: (result) => {
    const [docname, title, anchor, descr, score, filename] = result;
    const query = (new URLSearchParams(window.location.search).get("q") || "").trim().toLowerCase();
    const pageTitle = (title || "").split(" > ")[0].toLowerCase();
    return query && pageTitle.includes(query) ? score + 30 : score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
