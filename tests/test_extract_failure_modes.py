"""Issue 17's failure modes, each as the smallest page that shows it (generic markup, no site's names)."""

from ingest.article import Page
from ingest.extract import extract
from ingest.feeds import FeedEntry
from ingest.poll.draft import Context, draft
from ingest.watchlists import compile_watchlists

PROSE = ("The committee met on Tuesday to discuss the proposal, which has been debated for months, "
         "and its members said they would vote on it next week after hearing from residents.")


def page(body: str, head: str = "", lang: str = "en") -> str:
    return f"<!DOCTYPE html><html lang='{lang}'><head>{head}</head><body>{body}</body></html>"


def test_an_element_holding_most_of_the_page_is_never_dropped():
    # The unclosed <div> makes the parser nest the whole page inside the header's <button>.
    broken = page("<header><button class='menu-toggle'><div class='icon'>Menu</button><nav><a href='/'>Home</a>"
                  "</nav></header><main>" + "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4)) + "</main>")
    assert extract(broken).text.count("committee") == 4
    hidden = page("<div style='display:none'>" + "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4)) + "</div>"
                  "<div class='teaser'><p>A short teaser for another story on the site.</p></div>")
    assert extract(hidden).text.count("committee") == 4
    # A small control or hidden block is still dropped.
    small = page("<button>Subscribe now to read everything we publish</button><p hidden>Hidden note about cookies.</p>"
                 + "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4)))
    text = extract(small).text
    assert "Subscribe" not in text and "cookies" not in text and text.count("committee") == 4


def test_boilerplate_words_match_whole_class_words_weighed_by_what_they_name():
    sections = "".join(f"<div class='elementor-widget-container'><h2>Step {i}</h2><p>{PROSE} Step {i}.</p></div>"
                       for i in range(3))
    html = page(f"<div class='post-body'>{sections}"
                f"<div class='contextmenu-host'><p>{PROSE} Context.</p></div>"
                f"<div class='intext_content_tag'><p>{PROSE} Intext.</p></div>"
                f"<div class='prose [&_figcaption]:mt-xxs'><p>{PROSE} Utility.</p></div>"
                "<p>Heart disease and <a class='taxInlineTagLink' href='/t'>cancer</a> still account for about"
                " half of all deaths, the report found after reviewing the records.</p>"
                "<div class='smg-zone-widget'><p>Support our newsroom with a small monthly gift today.</p></div>"
                "<div class='yhcomment01'><p>First! What a story, thanks for sharing it with us.</p></div></div>")
    article = extract(html)
    text = article.text
    for kept in ("Step 0.", "Step 1.", "Step 2.", "Context.", "Intext.", "and cancer still account"):
        assert kept in text
    assert ("paragraph", f"{PROSE} Utility.") in [(b.kind, b.text) for b in article.blocks]  # not a caption
    assert "Support our newsroom" not in text and "First!" not in text


def test_a_time_elements_text_is_not_a_body_paragraph():
    html = page("<article><h1>Council Votes</h1><div class='date'><time datetime='2022-06-10'>10 июня 2022</time>"
                f"</div><p>{PROSE}</p><p>On <time datetime='2022-06-11'>Saturday</time> the vote was held, as "
                "planned, in the old hall.</p><p>" + PROSE + "</p></article>")
    article = extract(html)
    assert article.blocks[0].text == PROSE and "июня" not in article.text
    assert "On Saturday the vote was held" in article.text


def test_a_site_banner_h1_is_not_the_title_when_the_title_tag_disagrees():
    body = ("<div class='masthead'><h1>City Daily</h1></div><article><h2>{}</h2>" + f"<p>{PROSE}</p>" * 3
            + "</article>")
    for headline in ("Council votes to close the old bridge", "Bridge closure approved after long debate"):
        html = page(body.format(headline), head=f"<title>{headline} | City Daily</title>")
        assert extract(html).title == headline
    untitled = page("<h1>Council votes to close the old bridge</h1>" + f"<p>{PROSE}</p>" * 3)
    assert extract(untitled).title == "Council votes to close the old bridge"


def test_furniture_lines_are_recognised_by_shape_in_any_language():
    lines = ["06.01.2012 14:05", "6 января 2012, 14:05", "Drukuj | E-mail | Kontakt", "Komentarze (12)",
             "Σχόλια (3)", "A+ A-", "A A A Drukuj"]
    kept = ["Cost per credit: In-State | $472 | Out-of-State | $472", "$14.55", "The vote is on 12 June."]
    html = page("<article>" + f"<p>{PROSE}</p>" * 2 + "".join(f"<p>{line}</p>" for line in lines + kept)
                + f"<p>{PROSE}</p></article>", lang="pl")
    text = extract(html).text
    assert [line for line in lines if line in text] == []
    assert [line for line in kept if line not in text] == []


def test_an_article_split_into_sibling_sections_is_kept_whole():
    def section(i: int) -> str:
        wrapper = f"<div class='block block-{i}a{i}'><div class='inner'><div class='rich-text'>"
        paragraphs = f"<p>{PROSE} Item {i}.</p>" + f"<p>{PROSE}</p>" * (4 if i == 1 else 0)
        return wrapper + f"<h2>{i}. Item number {i}</h2>{paragraphs}</div></div></div>"

    teasers = "".join(f"<div class='card'><a href='/s/{i}'>Another story {i}</a></div>" for i in range(3))
    html = page("<main><h1>Ten things</h1>" + "".join(section(i) for i in range(1, 6))
                + f"<div class='block block-9 cards'>{teasers}</div></main>")
    text = extract(html).text
    assert [i for i in range(1, 6) if f"Item {i}." not in text] == []
    assert "Another story" not in text


SOFT_404 = page("<header><a href='/'>Daily Example</a><nav><a href='/w'>World</a><a href='/s'>Sport</a></nav></header>"
                "<main><h1>Oops! That page can't be found.</h1><p>It looks like nothing was found at this location. "
                "Maybe try one of the links below or a search?</p><form><input name='q'></form>"
                "<ul><li><a href='/a'>Council approves budget</a></li><li><a href='/b'>Storm closes roads</a></li></ul>"
                "</main><footer><p>© Daily Example</p></footer>", "<title>Page not found – Daily Example</title>")


def test_an_error_page_served_as_200_yields_no_article_so_the_feeds_content_is_used():
    """Issue 17, point 8: a soft 404 (an error heading over a body too short for an article)."""
    assert extract(SOFT_404, "https://news.example/2024/story").text == ""
    entry = FeedEntry(guid="g", url="https://news.example/2024/story", title="Council approves budget",
                      published=None, updated=None, summary=f"<p>{PROSE}</p>")
    built = draft(entry, Context("s"), compile_watchlists(()),
                  Page(entry.url, "text/html; charset=utf-8", SOFT_404.encode()))
    assert built.origin == "feed" and built.article.title == "Council approves budget"
    assert built.article.text == PROSE and built.empty_page


def test_an_article_whose_headline_mentions_not_found_is_kept():
    """A headline naming no page, or a long body, is an article."""
    html = page(f"<article><h1>Page not found: the web's forgotten corners</h1>{f'<p>{PROSE}</p>' * 10}</article>")
    assert len(extract(html).text) > 1500
    for headline in ("Missing hiker not found after two days", "404 days later: the hiker walks home"):
        html = page(f"<article><h1>{headline}</h1><p>{PROSE}</p></article>", f"<title>{headline}</title>")
        assert extract(html).text == PROSE


STORY = ("Денвер, 5 января. Российский центровой набрал 11 очков в матче, проведя на площадке 20 минут. "
         "Его команда победила со счётом 110:83 и занимает пятое место в конференции.")
LEGAL = ("Владелец проекта: © Example Media, 2004-2012. Все права на материалы, опубликованные на сайте, охраняются "
         "законом. Цитирование допускается не более 50% от объёма, с обязательной ссылкой, до или после блока, "
         "при этом редакция, учредитель, издатель и авторы не несут ответственности за рекламу, объявления, "
         "комментарии, форумы, опросы, рассылки, ссылки, баннеры, счётчики и справочную информацию. ")


def test_an_old_table_layout_yields_the_story_not_its_tag_cloud_or_copyright_footer():
    """Issue 17, failure mode 4: in a table layout the story is the td with prose; a tag cloud's separators
    and a legal footer's commas must not outscore it (scores count words outside links, a "©" notice none)."""
    tags = " , ".join(f"<a href='/tag/{i}'>тег {i}</a>" for i in range(80))
    html = page(
        "<table width='760'><tr><td colspan='2'><a href='/'>Главная</a> | <a href='/news'>Новости</a></td></tr>"
        "<tr><td width='150'><a href='/a'>Политика</a><br><a href='/b'>Спорт</a></td><td>"
        f"<table><tr><td><b>Мозгов набрал 11 очков</b></td></tr><tr><td>{STORY}<br><br>{STORY}</td></tr></table>"
        f"<table><tr><td>{tags}</td></tr></table></td></tr>"
        f"<tr><td colspan='2'>{LEGAL * 2}</td></tr></table>", lang="ru")
    text = extract(html).text
    assert STORY in text and "©" not in text and "тег 1" not in text


def test_unclassed_sibling_sections_led_by_headings_are_kept_whole():
    """Failure mode 1 without class names: a listicle whose items are bare <div id=N> wrappers, each a heading
    and a block of prose."""
    items = "".join(f"<div id='{1000 + i}'><h2>{i}. Agency {i}</h2><div>{f'<p>{PROSE}</p>' * (4 if i == 2 else 0)}"
                    f"<p>{PROSE} Item {i}.</p></div></div>" for i in range(5))
    html = page(f"<div><div class='intro'><p>{PROSE} Intro.</p></div><div class='list'>{items}</div></div>"
                "<aside><p>Sidebar text that is long enough to count as a paragraph somewhere.</p></aside>")
    text = extract(html).text
    assert all(f"Item {i}." in text for i in range(5))


def test_sibling_sections_are_found_above_deeply_nested_text():
    """Failure mode 1 with wrappers five deep (a page builder's section > row > column > widget > text)."""
    def section(i: int, paragraphs: int) -> str:
        prose = f"<p>{PROSE}</p>" * paragraphs + f"<p>{PROSE} Part {i}.</p>"
        icon = "<span class='icon'></span>"  # a second child at each level: no single-child wrapper to climb
        return (f"<section class='builder-section'>{icon}<div class='row'>{icon}<div class='column'>{icon}"
                f"<div class='widget-text'>{icon}<div class='rich'>{prose}</div></div></div></div></section>")
    text = extract(page(f"<main>{''.join(section(i, 4 if i == 1 else 0) for i in range(4))}</main>")).text
    assert all(f"Part {i}." in text for i in range(4))


def test_a_comment_thread_after_a_counting_heading_is_left_out_in_any_language():
    """A thread inside the body's container, announced by a heading with a count ("Komentarze (3)")."""
    comments = "".join(f"<div><p>Comment number {i}: I do not agree with the committee at all, and I said so.</p>"
                       f"<p>+{i} / -1 reply</p></div>" for i in range(3))
    html = page(f"<article><p>{PROSE}</p><p>{PROSE} Second.</p><h3>Komentarze (3)</h3>{comments}</article>", lang="pl")
    assert extract(html).text == f"{PROSE}\n\n{PROSE} Second."


def test_sections_with_unrelated_wrappers_are_all_kept():
    # Sections of a guide, each in a wrapper with its own generated class: no template pairs them.
    def section(cls: str, n: int, paras: int) -> str:
        inner = "".join(f"<p>{PROSE} Section {n}, part {i}.</p>" for i in range(paras))
        return f"<div class='{cls}'><h2>Heading {n}</h2><div class='x{n}a'><div class='x{n}b'>{inner}</div></div></div>"

    links = "".join(f"<li><a href='/s{i}'>Another story on this site, number {i}</a></li>" for i in range(12))
    html = page("<div class='wrap'><div class='col'>" + section("css-1ikqnjn", 1, 5) + section("css-g8r7kc", 2, 2)
                + section("css-swxdcm", 3, 2) + f"</div><div class='more'><ul>{links}</ul></div></div>")
    text = extract(html).text
    for n in (1, 2, 3):
        assert f"Section {n}, part 1." in text
    assert "Another story" not in text


def test_a_list_of_links_under_the_body_is_not_body_text():
    related = "".join(f"<p>– <a href='/n{i}'>Earlier story number {i} about the same council vote</a> – News, "
                      f"0{i}.06.2011</p>" for i in range(1, 5))
    refs = "".join(f"<li>{PROSE} Source {i}, <a href='/r{i}'>report</a>.</li>" for i in range(3))
    html = page(f"<div class='main'><h1>Council Votes</h1><p>{PROSE} One.</p><p>{PROSE} Two.</p><ul>{refs}</ul>"
                f"<div class='more'><h4>Links:</h4>{related}</div></div>")
    text = extract(html).text
    assert "Two." in text and "Source 2, report." in text  # a list of prose items citing a link is body
    assert "Earlier story" not in text


def test_teasers_of_the_sites_other_stories_after_the_body_are_dropped():
    def cards(href: str) -> str:
        return "".join(f"<div class='item'><h3><a href='{href}{i}'>Headline of story {i}</a></h3>"
                       f"<p>Summary {i}: a short account of another story, told in a sentence or two.</p></div>"
                       for i in range(3))

    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4))
    for href in ("/news/", "https://www.example.com/news/"):
        text = extract(page(f"<div class='col'>{body}<div class='more'>{cards(href)}</div></div>"),
                       "https://example.com/a").text
        assert "Part 3." in text and "Summary" not in text
    # A list whose linked headings lead to other sites is the article's (a listicle), as is a page of cards only.
    text = extract(page(f"<div class='col'>{body}<div class='more'>{cards('https://other.org/')}</div></div>"),
                   "https://example.com/a").text
    assert "Summary 2:" in text
    assert "Summary 2:" in extract(page(f"<div class='col'>{cards('/news/')}</div>"), "https://example.com/a").text


def test_a_standfirst_in_its_own_block_before_the_body_is_kept():
    lead = "Residents will have their say before the council decides, officials said on Monday evening."
    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4))
    html = page(f"<div class='story'><h1>Council Votes</h1><div class='lead'>{lead}</div>"
                f"<div class='content'><div class='text'>{body}</div><div class='tools'>Print</div></div></div>")
    article = extract(html)
    assert article.blocks[0].text == lead and "Part 3." in article.text
    # A linked teaser before the body is no standfirst.
    html = page(f"<div class='story'><div class='lead'><a href='/x'>{lead}</a></div>"
                f"<div class='content'><div class='text'>{body}</div><div class='tools'>Print</div></div></div>")
    assert "Residents" not in extract(html).text


def test_short_labels_closing_the_body_are_dropped_in_any_language():
    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4))
    html = page(f"<div class='text'>{body}<p>Zobacz także</p><div>Версия для печати</div><p>Σχετικά άρθρα</p></div>")
    text = extract(html).text
    assert text.endswith("Part 3.") and "także" not in text
    # A long run of short lines is data (a table laid out in divs), and a closing sentence is body.
    rows = "".join(f"<div>{state}</div><div>${rate}</div>" for state, rate in
                   [("Alaska", 14), ("Wyoming", 43), ("Montana", 45), ("Kansas", 66)])
    text = extract(page(f"<div class='text'>{body}<p>Rank and rate:</p>{rows}</div>")).text
    assert text.endswith("$66")
    assert extract(page(f"<div class='text'>{body}<p>That was all.</p></div>")).text.endswith("That was all.")


def test_teaser_cards_titled_by_a_linked_line_are_dropped_but_in_page_questions_kept():
    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(4))
    cards = "".join(f"<div class='item'><div class='title'><a href='/news/{i}'>Headline of story {i}</a></div>"
                    f"<div class='info'>News, 0{i}.01.2012</div><div class='preview'>Summary {i} of another story"
                    "</div></div>" for i in range(1, 4))
    text = extract(page(f"<div class='col'>{body}<div class='list'>{cards}</div></div>")).text
    assert "Part 3." in text and "Summary" not in text
    faq = "".join(f"<div class='q'><h4><a href='#q{i}'>Question {i} about the vote?</a></h4><p>Answer {i}: the vote is "
                  "held on Tuesday.</p></div>" for i in range(3))
    text = extract(page(f"<div class='col'>{body}<div class='faq'>{faq}</div></div>")).text
    assert "Answer 2: the vote" in text


def test_a_captioned_figure_holding_a_table_or_a_quote_keeps_its_text():
    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(3))
    table = ("<figure class='wp-block-table'><table><tr><td>Rank</td><td>Company</td></tr><tr><td>1</td>"
             "<td>Northwind Mutual</td></tr></table><figcaption>Source: annual filings</figcaption></figure>")
    quote = ("<figure><blockquote>Our members asked for this vote and they will have it next week.</blockquote>"
             "<figcaption>Jane Doe, chair</figcaption></figure>")
    photo = "<figure><img src='/a.jpg'><figcaption>The committee room on Tuesday.</figcaption></figure>"
    blocks = extract(page(f"<article>{body}{table}{quote}{photo}</article>")).blocks
    text = "\n".join(b.text for b in blocks if b.kind != "caption")
    assert "Northwind Mutual" in text and "they will have it next week" in text
    captions = [b.text for b in blocks if b.kind == "caption"]
    assert captions == ["Source: annual filings", "Jane Doe, chair", "The committee room on Tuesday."]


def test_a_body_printed_twice_is_kept_once_but_a_repeated_line_stays():
    paragraphs = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(3))
    text = extract(page(f"<div class='col'><div class='story'>{paragraphs}</div><div class='copy'>{paragraphs}</div>"
                        "</div>")).text
    assert text.count("Part 0.") == 1 and text.count("Part 2.") == 1
    refrain = "<p>Vote early.</p>"
    text = extract(page(f"<div class='story'>{refrain}{paragraphs}{refrain}<p>{PROSE} End.</p></div>")).text
    assert text.count("Vote early.") == 2


def test_first_paragraphs_split_off_by_an_ad_slot_are_kept_but_prose_after_the_body_is_not():
    first = "".join(f"<p>{PROSE} Opening {i}.</p>" for i in range(2))
    rest = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(5))
    bio = "<div class='more'><div><p>Jane Doe writes about local politics and the council for the paper.</p></div></div>"
    text = extract(page(f"<div class='main'><div class='first'><div class='mod'>{first}</div></div>"
                        f"<div class='ad'><script>ad()</script></div><div class='text'>{rest}</div>{bio}</div>")).text
    assert "Opening 0." in text and "Opening 1." in text and "Part 4." in text
    assert "Jane Doe" not in text


def test_a_section_named_by_a_navigation_word_but_holding_prose_is_kept():
    sections = "".join(f"<div class='jump-link-item'><h2>Step {i}</h2><p>{PROSE} Step {i}.</p>"
                       f"<p>{PROSE} More on step {i}.</p></div>" for i in range(3))
    menu = ("<div class='site-nav'>" + "".join(f"<a href='/s{i}'>Section {i}</a>" for i in range(8))
            + "<p>Everything about the council and the committee, in one place for readers.</p></div>")
    teaser = (f"<div class='nav-links'><article><a href='/prev' aria-label='Previous'></a><p>{PROSE} Previous.</p>"
              f"<p>{PROSE} Its summary.</p></article></div>")
    checklist = ("<div class='jump-link-item'><h2>Checklist</h2><ul>" + "".join(
        f"<li>Bring the signed form, a copy of the budget and the minutes of meeting {i}</li>" for i in range(4))
        + "</ul></div>")  # a section of the same navigation-named kind, as a list: kept with its siblings
    text = extract(page(f"{menu}<div class='post-content'><p>{PROSE} Intro.</p>"
                        f"<div class='content-nav-section'>{sections}{checklist}</div>{teaser}</div>")).text
    assert "Intro." in text and all(f"More on step {i}." in text for i in range(3)) and "meeting 3" in text
    assert "Section 1" not in text and "Everything about the council" not in text and "Previous." not in text


def test_linked_items_of_a_list_that_is_not_mostly_links_are_kept():
    gear = ("<ul><li><a href='https://shop.example/tent'>Tent</a></li><li>Rainfly</li>"
            "<li><a href='https://shop.example/stakes'>Stakes</a></li><li>Trash compactor bag for rain</li></ul>")
    books = "<ul>" + "".join(f"<li><a href='/books/{i}'>The Long Road {i}</a> by Ann Author</li>" for i in range(4)) + "</ul>"
    menu = ("<ul>" + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>\n      " for i in range(5)) + "</ul>")
    text = extract(page(f"<article><p>{PROSE} Intro.</p><h2>Pack</h2>{gear}<p>{PROSE} Middle.</p>"
                        f"<h2>Read</h2>{books}<div>{menu}</div><p>{PROSE} End.</p></article>")).text
    assert all(item in text for item in ("Tent", "Rainfly", "Stakes", "The Long Road 3 by Ann Author"))
    assert "Section 2" not in text


def test_a_body_written_as_lines_between_br_tags_outscores_a_content_classed_teaser():
    lines = "<br><br>".join(f"{PROSE} {PROSE} Line {i}." for i in range(6))
    teaser = ("<div class='box'><div class='news-body'><p>A teaser for another story on the site, two sentences long, "
              "with a few words of summary to tempt the reader. It says what the other story is about, who is in it, "
              "and why the reader might want to follow the link to read it all.</p></div></div>")
    text = extract(page(f"<div class='left'><div id='artykul'>{lines}</div></div><div class='right'>{teaser}</div>")).text
    assert "Line 0." in text and "Line 5." in text and "teaser" not in text


def test_a_sibling_block_that_is_mostly_links_does_not_continue_the_body():
    body = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(5))
    links = "".join(f"<p><a href='/story/{i}'>Another headline of the site about the council and the budget, number {i}"
                    f"</a> Sent to: mail, print, share, email, and more of the same.</p>" for i in range(6))
    text = extract(page(f"<div class='page'><div class='story'>{body}</div><div class='after'>{links}</div></div>")).text
    assert "Part 4." in text and "Another headline" not in text


def test_a_body_split_into_two_look_alike_blocks_is_kept_whole():
    first = "".join(f"<p>{PROSE} First {i}.</p>" for i in range(5))
    second = "".join(f"<p>{PROSE} Second {i}.</p>" for i in range(4))
    reading = "<ul>" + "".join(f"<li><a href='/post/{i}'>A post worth reading, number {i}</a></li>" for i in range(8)) + "</ul>"
    text = extract(page(f"<div class='col'><div class='block b-1'><div class='html-content'>{first}</div></div>"
                        f"<div class='block b-2'><div class='list-content'>{reading}</div></div>"
                        f"<div class='block b-3'><div class='html-content'>{second}</div></div></div>")).text
    assert "First 0." in text and "Second 3." in text


def test_the_story_under_the_headline_is_taken_not_the_column_with_its_sidebar_boxes():
    story = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(3))
    more = "".join(f"<a href='/more/{j}'>More from this columnist, part {j}</a> " for j in range(3))
    boxes = "".join(f"<div class='box'><h4>Opinion {i}</h4><div class='op'><p>A columnist writes, at some length, "
                    f"about the season, the players, the coach, the fans and the city, in box {i}.</p><p>And, to "
                    f"close, a second paragraph, with commas, about the league, its money, its future, box {i}.</p>"
                    f"</div>{more}</div>" for i in range(2))
    html = page(f"<div class='content'><div class='left'><div class='art'><h1>Council Votes on the Budget</h1>"
                f"<div class='txt'>{story}</div></div></div><div class='right'>{boxes}</div></div>",
                head="<title>Council Votes on the Budget</title>")
    text = extract(html).text
    assert "Part 0." in text and "Part 2." in text and "columnist" not in text


def test_a_signup_box_inside_the_body_is_dropped_but_a_page_wide_form_is_not():
    first, rest = (f"<p>{PROSE} Part 0.</p><p>{PROSE} Part 1.</p>", f"<p>{PROSE} Part 2.</p><p>{PROSE} Part 3.</p>")
    box = ("<div class='cta'><div><p>Be the first to know!</p><p>Get our picks sent to your phone.</p></div>"
           "<form><input type='tel' placeholder='Phone'><button>Sign me up</button></form>"
           "<p>By signing up you agree to receive messages. Rates may apply.</p></div>")
    text = extract(page(f"<article>{first}{box}{rest}</article>")).text
    assert "Part 0." in text and "Part 3." in text and "first to know" not in text and "signing up" not in text
    wrapped = extract(page(f"<form id='page'><input type='text' name='q'><article>{first}{rest}</article></form>")).text
    assert "Part 0." in wrapped and "Part 3." in wrapped
