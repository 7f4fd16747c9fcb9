// The book's search (_config.yml: html_search_scorer; Sphinx copies this file into
// language_data.js, which loads before searchtools.js, so the `splitQuery` below replaces
// Sphinx's default). Two parts:
//
// 1. splitQuery: Sphinx indexes Chinese with jieba's search mode (plus the book's terms,
//    _ext/jieba_terms.txt), but it would look a query up as one whole string: 自注意力机制,
//    BERT预训练 or 什么是位置编码 found nothing. Here a query is cut the way the index was:
//    runs of Latin letters apart from runs of Chinese characters, and each Chinese run into
//    the longest words the index knows (forward maximum matching against the index's own
//    terms). Question words (什么, 如何, 是, 的 ...) are dropped. A character that starts no
//    indexed word (jieba indexes no single characters) stands for the shortest page-title
//    word that contains it (头 -> 多头); a query of that one character alone, failing that,
//    for the shortest indexed word; otherwise it is dropped.
// 2. Scorer: Sphinx's defaults, plus: a page whose title holds the query comes first, then
//    pages whose title holds more of its words, or whose title (say 掩码) the query holds
//    (因果掩码); a section whose title holds the query (9.4 Next sentence prediction) counts
//    as much as a page title, and a page with such a section (9.2 Masked language modelling)
//    almost as much; the overview pages (preface, review, glossary, appendices), which
//    mention every term, come after the chapter that teaches it; and of two pages that score
//    alike, the one in the reader's language comes first (Chinese when the query has Chinese
//    characters or the reader came from a Chinese page, else English), so that WordPiece lists
//    the English chapter 08 before the Chinese one.

const BOOK_QUERY_STOPWORDS = new Set([
  "什么", "什么样", "怎么", "怎样", "如何", "为什么", "为何", "哪些", "哪个", "是否", "一个", "一种",
  "是", "的", "了", "吗", "呢", "吧", "啊", "和", "与", "及", "或", "在", "对", "把", "被", "之",
  "我", "你", "它", "请", "问", "讲", "解释", "介绍", "一下",
]);
const BOOK_HAN = /\p{Script=Han}/u;

function bookIndexKnows(index, term) {
  return Object.prototype.hasOwnProperty.call(index.terms, term) ||
         Object.prototype.hasOwnProperty.call(index.titleterms, term);
}

// The shortest term of `table` that contains `ch`; among equals, the one on most pages.
function bookShortestContaining(table, ch) {
  const pages = (v) => (Array.isArray(v) ? v.length : 1);
  let best = null;
  for (const [term, docs] of Object.entries(table)) {
    if (!term.includes(ch)) continue;
    if (best === null || term.length < best[0].length ||
        (term.length === best[0].length && pages(docs) > pages(best[1]))) best = [term, docs];
  }
  return best && best[0];
}

// A run of Chinese characters -> the index's words, longest first, question words dropped.
// `alone`: the run is the whole query (a lone character then stands in for any indexed word).
function bookSegmentHan(run, index, alone) {
  const out = [];
  let i = 0;
  while (i < run.length) {
    let found = null;
    for (let len = Math.min(run.length - i, 12); len >= 2; len--) {
      const piece = run.substr(i, len);
      if (BOOK_QUERY_STOPWORDS.has(piece) || bookIndexKnows(index, piece)) {
        found = piece;
        break;
      }
    }
    if (found === null) {
      const ch = run[i];
      if (!BOOK_QUERY_STOPWORDS.has(ch)) {
        const standIn = bookShortestContaining(index.titleterms, ch) ||
                        (alone && run.length === 1 ? bookShortestContaining(index.terms, ch) : null);
        if (standIn) out.push(standIn);
      }
      i += 1;
    } else {
      if (!BOOK_QUERY_STOPWORDS.has(found)) out.push(found);
      i += found.length;
    }
  }
  return out;
}

const BOOK_SPLITS = new Map();

var splitQuery = (query) => {
  const words = query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu).filter((t) => t);
  const index = typeof Search !== "undefined" ? Search._index : null;
  if (!index) return words;
  if (!BOOK_SPLITS.has(query)) {
    const out = [];
    for (const word of words) {
      for (const run of word.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu)) {
        if (BOOK_HAN.test(run)) out.push(...bookSegmentHan(run, index, words.length === 1));
        else out.push(run);
      }
    }
    BOOK_SPLITS.set(query, out.length ? [...new Set(out)] : words);
  }
  return BOOK_SPLITS.get(query);
};

const BOOK_OVERVIEW = /(^|\/)(00-preface|12-review|glossary|appendix-[a-z]+|index)$/;

// The section titles of each page (compacted, lowercase), from the index's `alltitles`.
let BOOK_SECTIONS = null;
function bookSectionTitles(docname) {
  const index = typeof Search !== "undefined" ? Search._index : null;
  if (!index || !index.alltitles) return [];
  if (BOOK_SECTIONS === null) {
    BOOK_SECTIONS = new Map();
    for (const [title, places] of Object.entries(index.alltitles)) {
      for (const [doc] of places) {
        const name = index.docnames[doc];
        if (!BOOK_SECTIONS.has(name)) BOOK_SECTIONS.set(name, []);
        BOOK_SECTIONS.get(name).push(title.toLowerCase().replace(/\s+/g, ""));
      }
    }
  }
  return BOOK_SECTIONS.get(docname) || [];
}

// The reader's language: Chinese if the query has Chinese characters or the search was sent
// from a Chinese page (the search box is on every page), else English.
function bookReaderLang(query) {
  if (BOOK_HAN.test(query)) return "zh";
  const from = typeof document !== "undefined" ? document.referrer || "" : "";
  return /\/chapters\/zh\//.test(from) ? "zh" : "en";
}

var Scorer = {
  score: (result) => {
    const [docname, title, anchor, descr, score, filename] = result;
    const query = (new URLSearchParams(window.location.search).get("q") || "").trim().toLowerCase();
    if (!query) return score;
    const compact = (text) => text.toLowerCase().replace(/\s+/g, "");
    const [page, ...sections] = (title || "").split(" > ");
    const pageTitle = compact(page);
    const sectionTitle = compact(sections.join(" "));
    const titleCore = pageTitle.replace(/^(\d+|附录[a-z]|appendix[a-z])·/, "");
    const words = splitQuery(query).map((w) => w.toLowerCase()).filter((w) => w.length > 1);
    let bonus = 0;
    if (pageTitle.includes(compact(query)) || sectionTitle.includes(compact(query))) bonus = 30;
    else if (bookSectionTitles(docname).some((t) => t.includes(compact(query)))) bonus = 25;
    else if (titleCore.length >= 2 && compact(query).includes(titleCore)) bonus = 20;
    else if (words.length) bonus = 20 * words.filter((w) => pageTitle.includes(w)).length / words.length;
    if (BOOK_OVERVIEW.test(docname)) bonus -= 8;
    if (docname.startsWith(`chapters/${bookReaderLang(query)}/`)) bonus += 4;
    return score + bonus;
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

// 3. Snippets. The theme's main block starts with the article's header (the download and
//    full-screen buttons, ".ipynb .pdf") and a print-only copy of the title and table of
//    contents (.onlyprint: "Contents" and every section), and Sphinx cuts a result's snippet
//    from that block's text: snippets quoted buttons and section lists. Both are left out here.
//    Sphinx loads this file after searchtools.js on the search page: Search.htmlToText is
//    there to wrap.
if (typeof Search !== "undefined" && typeof DOMParser !== "undefined" && Search.htmlToText) {
  const bookHtmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll(".bd-header-article, .onlyprint").forEach((el) => el.remove());
    return bookHtmlToText(page.documentElement.outerHTML, anchor);
  };
}

// 4. One search page serves both editions: its messages in both languages (Sphinx looks them
//    up in Documentation.TRANSLATIONS when it shows them, after this file has run).
if (typeof Documentation !== "undefined" && Documentation.TRANSLATIONS) {
  Object.assign(Documentation.TRANSLATIONS, {
    "Search Results": "Search results · 搜索结果",
    "Searching": "Searching · 正在搜索",
    "Preparing search...": "Preparing search · 正在准备搜索",
    "Search finished, found ${resultCount} page(s) matching the search query.":
      "Pages found · 找到的页面: ${resultCount}",  // Sphinx fills in the first ${...} only
    "Your search did not match any documents. Please make sure that all words are spelled correctly and that you've selected enough categories.":
      "No page matches: check the spelling, or try fewer words. · 没有匹配的页面：请检查拼写，或少用几个词。",
  });
}
