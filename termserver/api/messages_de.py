"""German texts of the workbench pages (termserver.api.i18n): English text → German."""

from __future__ import annotations

DE: dict[str, str] = {
    # page frame
    "Workbench": "Workbench",
    "termserver · mapping workbench": "termserver · Mapping-Workbench",
    "Skip to the content": "Zum Inhalt springen",
    "Loading…": "Wird geladen …",
    "Language": "Sprache",
    "Curator": "Kurator/in",
    "sign in": "anmelden",
    "sign out": "abmelden",
    "your name": "Ihr Name",
    "not checked: this server has no tokens": "nicht geprüft: dieser Server hat keine Tokens",
    "Error": "Fehler",
    "Back to the projects": "Zurück zu den Projekten",
    # sign-in
    "Sign in": "Anmelden",
    "Token": "Token",
    "This server needs an access token (ask its administrator). The workbench pages keep a "
    "signed sign-in (your token's name, for 12 hours) in a cookie, never the token itself.":
        "Dieser Server verlangt ein Zugangstoken (fragen Sie die Administration). Die "
        "Workbench merkt sich die Anmeldung signiert in einem Cookie (den Namen Ihres Tokens, "
        "12 Stunden lang), nie das Token selbst.",
    "Too many failed sign-ins; try again in {wait} s.":
        "Zu viele fehlgeschlagene Anmeldungen; bitte in {wait} s erneut versuchen.",
    "The sign-in form expired or did not come from this server; please try again.":
        "Das Anmeldeformular ist abgelaufen oder stammt nicht von diesem Server; bitte "
        "erneut versuchen.",
    "This token is not valid on this server.": "Dieses Token gilt auf diesem Server nicht.",
    # projects page
    "Projects": "Projekte",
    "Map projects": "Mapping-Projekte",
    "Project": "Projekt",
    "Source": "Quelle",
    "Target": "Ziel",
    "Created": "Angelegt",
    "dual": "doppelt",
    "in": "in",
    "No projects yet: import a code list, then create a project for it.":
        "Noch keine Projekte: Importieren Sie eine Codeliste und legen Sie dann ein Projekt "
        "dafür an.",
    "1 · Import a code list": "1 · Codeliste importieren",
    "File (CSV, TSV, XLSX)": "Datei (CSV, TSV, XLSX)",
    "Code system URL": "URL des Codesystems",
    "Version": "Version",
    "Title": "Titel",
    "Column headers": "Spaltenüberschriften",
    "code": "Code",
    "display": "Bezeichnung",
    "unit": "Einheit",
    "specimen": "Material",
    "category": "Kategorie",
    "frequency": "Häufigkeit",
    "comment": "Kommentar",
    "(none)": "(keine)",
    "Import": "Importieren",
    "2 · New project": "2 · Neues Projekt",
    "Id (slug)": "Kennung (Kurzname)",
    "Source code system": "Quell-Codesystem",
    "Source version": "Quellversion",
    "Target code system and version": "Ziel-Codesystem und Version",
    "Terminologies (1,000 concepts or more)": "Terminologien (ab 1.000 Konzepten)",
    "Other code systems": "Weitere Codesysteme",
    "newest ({v})": "neueste ({v})",
    "version {v}": "Version {v}",
    "{n} concepts": "{n} Konzepte",
    "No code system with content is loaded yet: load one (termserver load) before creating "
    "a project.": "Noch kein Codesystem mit Inhalt geladen: Laden Sie eines (termserver "
                  "load), bevor Sie ein Projekt anlegen.",
    "Source ValueSet": "Quell-ValueSet",
    "Target ValueSet": "Ziel-ValueSet",
    "optional: map only its codes": "optional: nur dessen Codes mappen",
    "optional: e.g. LOINC lab terms": "optional: z. B. LOINC-Laborterme",
    "ConceptMap URL": "ConceptMap-URL",
    "derived from the source": "aus der Quelle abgeleitet",
    "blind dual mapping": "verblindetes Doppel-Mapping",
    "Create project": "Projekt anlegen",
    "of {total} rows imported into": "von {total} Zeilen importiert in",
    "Bad rows: {n}": "Fehlerhafte Zeilen: {n}",
    "Line": "Zeile",
    "Code": "Code",
    "Problem": "Problem",
    "Changes to the stored list": "Änderungen gegenüber der gespeicherten Liste",
    "{n} added:": "{n} hinzugefügt:",
    "{n} removed (their decisions are kept):":
        "{n} entfernt (ihre Entscheidungen bleiben erhalten):",
    "{n} changed:": "{n} geändert:",
    "No changes to a previously stored list.":
        "Keine Änderungen gegenüber einer früher gespeicherten Liste.",
    "created": "angelegt",
    "updated": "aktualisiert",
    "unchanged": "unverändert",
    "replaced": "ersetzt",
    # project page
    "Worklist": "Arbeitsliste",
    "Status": "Status",
    "Filter": "Filter",
    "all statuses": "alle Status",
    "filter codes and displays": "Codes und Bezeichnungen filtern",
    "Select a code in the worklist (or press j).":
        "Wählen Sie einen Code in der Arbeitsliste (oder drücken Sie j).",
    "Search the target": "Im Ziel suchen",
    "search {system}": "{system} durchsuchen",
    "Keyboard": "Tastatur",
    "After an accept, go to the next open code":
        "Nach einer Entscheidung zum nächsten offenen Code springen",
    "Shortcuts are off while typing in a field (Esc leaves it).":
        "Beim Tippen in einem Feld sind die Tasten aus (Esc verlässt das Feld).",
    "next / previous code": "nächster / vorheriger Code",
    "accept the top suggestion": "besten Vorschlag übernehmen",
    "accept suggestion n": "Vorschlag n übernehmen",
    "skip to the next open code": "zum nächsten offenen Code springen",
    "reject": "ablehnen",
    "needs review": "zur Prüfung",
    "focus the target search": "in die Zielsuche springen",
    "leave a field": "Feld verlassen",
    "Suggest all": "Alle vorschlagen",
    "Scores every source code against the target and keeps the top five; unmapped codes "
    "become \"suggested\".": "Bewertet jeden Quellcode gegen das Ziel und behält die fünf "
                             "besten Vorschläge; ungemappte Codes werden zu „vorgeschlagen“.",
    "Bulk accept": "Sammelübernahme",
    "Accepts every open code whose top kept suggestion scores at least the threshold; a "
    "random sample of them goes to \"needs-review\" instead, for a person to check. "
    "Everything is in the audit trail under your name.":
        "Übernimmt jeden offenen Code, dessen bester gespeicherter Vorschlag mindestens den "
        "Schwellenwert erreicht; eine Zufallsstichprobe davon geht stattdessen „zur Prüfung“ "
        "an einen Menschen. Alles steht unter Ihrem Namen im Änderungsprotokoll.",
    "Threshold (score 0…1)": "Schwellenwert (Score 0 … 1)",
    "Sent to review (% of them, at least one)":
        "Zur Prüfung (% davon, mindestens einer)",
    "Preview": "Vorschau",
    "At threshold {t}: {n} open codes score high enough; {a} would be accepted and {m} sent "
    "to review.": "Bei Schwellenwert {t}: {n} offene Codes erreichen ihn; {a} würden "
                  "übernommen und {m} zur Prüfung gegeben.",
    "{below} open codes score lower, {none} have no kept suggestion yet (run Suggest all).":
        "{below} offene Codes liegen darunter, {none} haben noch keinen gespeicherten "
        "Vorschlag („Alle vorschlagen“ ausführen).",
    "Accept {a}, send {m} to review": "{a} übernehmen, {m} zur Prüfung geben",
    "Accepted {a} codes at threshold {t}; {m} sent to review (random sample):":
        "{a} Codes bei Schwellenwert {t} übernommen; {m} zur Prüfung gegeben "
        "(Zufallsstichprobe):",
    "Left alone (target no longer in scope, or decided meanwhile): {codes}":
        "Unverändert gelassen (Ziel nicht mehr im Umfang oder inzwischen entschieden): "
        "{codes}",
    "Publish": "Veröffentlichen",
    "draft": "Entwurf",
    "active": "aktiv",
    "Publish ConceptMap": "ConceptMap veröffentlichen",
    "with {n} elements.": "mit {n} Elementen.",
    "$translate example": "$translate-Beispiel",
    "Export": "Export",
    "Existing maps and new versions": "Vorhandene Maps und neue Versionen",
    "Import a map": "Map importieren",
    "ConceptMap (R4/R5 JSON) or CSV map": "ConceptMap (R4/R5 JSON) oder CSV-Map",
    "Import decisions": "Entscheidungen importieren",
    "Decisions imported:": "Importierte Entscheidungen:",
    "(each in the audit trail as \"import\").": "(jede im Änderungsprotokoll als „Import“).",
    "Re-validate": "Neu prüfen",
    "Target version": "Zielversion",
    "newest loaded": "neueste geladene",
    "Check accepted targets": "Übernommene Ziele prüfen",
    "Every accepted target is active in that version.":
        "Jedes übernommene Ziel ist in dieser Version aktiv.",
    "Accepted targets to look at:": "Zu prüfende übernommene Ziele:",
    "Source code": "Quellcode",
    "Proposed replacement": "Vorgeschlagener Ersatz",
    "inactive": "inaktiv",
    "missing": "fehlt",
    "Agreement": "Übereinstimmung",
    "Compare": "Vergleichen",
    "{a} and {b} both decided {n} codes; they agree on {agreed}":
        "{a} und {b} haben beide {n} Codes entschieden; übereinstimmend: {agreed}",
    "Cohen's kappa:": "Cohens Kappa:",
    "To reconcile:": "Abzugleichen:",
    # being prepared
    "Being prepared": "Wird vorbereitet",
    "Target text index: {what}.": "Textindex des Ziels: {what}.",
    "Suggestions and the target search start once it is ready; you can review meanwhile.":
        "Vorschläge und Zielsuche starten, sobald er fertig ist; Sie können inzwischen "
        "prüfen.",
    "Suggest all: {state}, {done} of {total} codes.":
        "Alle vorschlagen: {state}, {done} von {total} Codes.",
    "Checked again every {n} seconds.": "Wird alle {n} Sekunden neu geprüft.",
    "Ready": "Bereit",
    "queued": "wartet",
    "running": "läuft",
    "done": "fertig",
    "failed": "fehlgeschlagen",
    "cancelled": "abgebrochen",
    # progress and worklist
    "{reviewed} of {total} reviewed": "{reviewed} von {total} geprüft",
    "reviewed": "geprüft",
    "unmapped": "ungemappt",
    "suggested": "vorgeschlagen",
    "accepted": "übernommen",
    "rejected": "abgelehnt",
    "needs-review": "zur Prüfung",
    "Display": "Bezeichnung",
    "Unit": "Einheit",
    "Specimen": "Material",
    "suggested:": "Vorschlag:",
    "No codes match.": "Keine Codes gefunden.",
    "{first}–{last} of {total}": "{first}–{last} von {total}",
    "← previous": "← zurück",
    "next →": "weiter →",
    # the code's panel
    "unit {unit}": "Einheit {unit}",
    "specimen {specimen}": "Material {specimen}",
    "category {category}": "Kategorie {category}",
    "frequency {n}": "Häufigkeit {n}",
    "by {author}": "von {author}",
    "Relationship": "Beziehung",
    "Comment": "Kommentar",
    "Suggestions": "Vorschläge",
    "Being prepared: the target's text index is being built.":
        "Wird vorbereitet: Der Textindex des Ziels wird aufgebaut.",
    "This panel checks again every {n} seconds; you can decide or search meanwhile.":
        "Dieser Bereich prüft alle {n} Sekunden erneut; Sie können inzwischen entscheiden "
        "oder suchen.",
    "Key": "Taste",
    "Score": "Score",
    "score": "Score",
    "Why": "Begründung",
    "Action": "Aktion",
    "Accept": "Übernehmen",
    "Accept {code}": "{code} übernehmen",
    "Suggestions appear once the index is built.":
        "Vorschläge erscheinen, sobald der Index aufgebaut ist.",
    "No suggestions; search the target (press /).":
        "Keine Vorschläge; suchen Sie im Ziel (Taste /).",
    "Skip": "Überspringen",
    "Reject": "Ablehnen",
    "Needs review": "Zur Prüfung",
    "Save comment and relationship": "Kommentar und Beziehung speichern",
    "History": "Verlauf",
    "equivalent": "äquivalent",
    "source-is-narrower-than-target": "Quelle ist enger als Ziel",
    "source-is-broader-than-target": "Quelle ist weiter als Ziel",
    "related-to": "verwandt mit",
    "not-related-to": "nicht verwandt mit",
    "decide": "entschieden",
    "suggest": "vorgeschlagen",
    "import": "Import",
    "create": "angelegt",
    "update-project": "Projekt geändert",
    "source-changed": "Quelle geändert",
    "reconcile": "abgeglichen",
    "publish": "veröffentlicht",
    "bulk-accept": "Sammelübernahme",
    "{code}: {status}": "{code}: {status}",
    "select a code in the worklist first": "wählen Sie zuerst einen Code in der Arbeitsliste",
    "enter your name in the Curator field first":
        "tragen Sie zuerst Ihren Namen im Feld „Kurator/in“ ein",
    # target search
    "Search results": "Suchergebnisse",
    "Accept {code} for the selected code": "{code} für den gewählten Code übernehmen",
    "Search is available once the index is built.":
        "Die Suche ist verfügbar, sobald der Index aufgebaut ist.",
    "Nothing found.": "Nichts gefunden.",
    "Type to search the target code system.": "Tippen Sie, um im Ziel-Codesystem zu suchen.",
    # reasons (termserver.api.reasons)
    "every word of the local name is in the term":
        "jedes Wort der lokalen Bezeichnung steht im Term",
    "no word of the local name is in the term": "kein Wort der lokalen Bezeichnung steht im Term",
    "{p} % of the local name's words are in the term":
        "{p} % der Wörter der lokalen Bezeichnung stehen im Term",
    "the LOINC analyte name is in the local name in full":
        "der LOINC-Analytname steht vollständig in der lokalen Bezeichnung",
    "the LOINC analyte name (COMPONENT) does not occur in the local name":
        "der LOINC-Analytname (COMPONENT) kommt in der lokalen Bezeichnung nicht vor",
    "{p} % of the LOINC analyte name is in the local name":
        "{p} % des LOINC-Analytnamens stehen in der lokalen Bezeichnung",
    "the name reads like {which} “{text}” ({p} %)":
        "die Bezeichnung gleicht {which} „{text}“ ({p} %)",
    "the display": "dem Anzeigenamen",
    "the analyte (COMPONENT)": "dem Analyten (COMPONENT)",
    "the German analyte name": "dem deutschen Analytnamen",
    "the German name": "der deutschen Bezeichnung",
    "the name ({label})": "der Bezeichnung ({label})",
    "unit {unit} fits {property}": "Einheit {unit} passt zu {property}",
    "the local name fits {property}": "die lokale Bezeichnung passt zu {property}",
    "specimen {specimen} fits {system}": "Material {specimen} passt zu {system}",
    "the specimen named fits {system}": "das genannte Material passt zu {system}",
    "the method {method} is named in the local name":
        "die Methode {method} steht in der lokalen Bezeichnung",
    "the lab section fits the class {cls}": "der Laborbereich passt zur Klasse {cls}",
    "accepted before for “{text}” in project {project}":
        "früher für „{text}“ im Projekt {project} übernommen",
    "mass concentration": "Massenkonzentration",
    "substance concentration": "Stoffmengenkonzentration",
    "catalytic concentration": "katalytische Aktivitätskonzentration",
    "arbitrary concentration": "willkürliche Konzentration",
    "number concentration": "Anzahlkonzentration",
    "mass fraction": "Massenanteil",
    "number fraction": "Anzahlanteil",
    "substance fraction": "Stoffmengenanteil",
    "volume fraction": "Volumenanteil",
    "presence or threshold": "Nachweis oder Schwellenwert",
    "titer": "Titer",
    "entitic volume": "Einzelvolumen",
    "entitic mass": "Einzelmasse",
    "pressure": "Druck",
    "log substance concentration": "logarithmische Stoffmengenkonzentration",
    "osmolality": "Osmolalität",
    "mass rate": "Massenrate",
    "substance rate": "Stoffmengenrate",
    "volume": "Volumen",
    "time": "Zeit",
    "number": "Anzahl",
    "presence or identity": "Nachweis oder Identität",
    "type": "Typ",
    "temperature": "Temperatur",
    "mass or substance concentration": "Massen- oder Stoffmengenkonzentration",
    "catalytic ratio": "katalytisches Verhältnis",
    "mass ratio": "Massenverhältnis",
    "substance ratio": "Stoffmengenverhältnis",
    "relative time": "relative Zeit",
    "serum or plasma": "Serum oder Plasma",
    "serum": "Serum",
    "plasma": "Plasma",
    "blood": "Blut",
    "arterial blood": "arterielles Blut",
    "venous blood": "venöses Blut",
    "capillary blood": "Kapillarblut",
    "cord blood": "Nabelschnurblut",
    "urine": "Urin",
    "cerebrospinal fluid": "Liquor",
    "stool": "Stuhl",
    "serum, plasma or blood": "Serum, Plasma oder Blut",
    "red blood cells": "Erythrozyten",
    "saliva": "Speichel",
    "synovial fluid": "Synovialflüssigkeit",
    "pleural fluid": "Pleuraflüssigkeit",
    "peritoneal fluid": "Peritonealflüssigkeit",
}
