"""German phrase book.

Over 400 lines on purpose: this is a data table (every sentence the demo's customers and
agents write in one language, one per line), not logic; a language's phrases stay in one
file so that a translator reads and edits them side by side.
"""

from __future__ import annotations

from triage.demo.phrases import PhraseBook

_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip

SUBJECTS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "Doppelte Abbuchung für mein Abo",
        "Zahlung zweimal abgebucht",
        "Warum wurde ich zweimal belastet?",
    ),
    "invoice": (
        "Rechnung für den {date} benötigt",
        "Bitte Kopie der Rechnung {invoice}",
        "Ich brauche eine Rechnung mit USt-ID",
    ),
    "payment_failed": (
        "Zahlung schlägt fehl",
        "Karte bei der Zahlung abgelehnt",
        "Kann die Zahlung nicht abschließen",
    ),
    "subscription": ("Tarifwechsel auf {plan}", "Abo herabstufen", "Wie kündige ich mein Abo?"),
    "password_reset": (
        "Passwort lässt sich nicht zurücksetzen",
        "Link zum Zurücksetzen funktioniert nicht",
        "Keine E-Mail zum Passwort-Reset",
    ),
    "two_factor": (
        "Handy verloren, kein 2FA-Code",
        "Zwei-Faktor-Code wird nicht akzeptiert",
        "Problem mit der Authenticator-App",
    ),
    "account_locked": (
        "Mein Konto ist gesperrt",
        "Konto nach Fehlversuchen gesperrt",
        "Ich komme nicht mehr in mein Konto",
    ),
    "app_crash": (
        "{product} stürzt beim Start ab",
        "App stürzt ständig ab",
        "{product} schließt sich nach dem Update",
    ),
    "sync_error": (
        "Synchronisierungsfehler {error}",
        "Dateien werden nicht synchronisiert",
        "{product} hängt bei der Synchronisierung",
    ),
    "performance": (
        "{product} ist extrem langsam",
        "Sehr lange Ladezeiten",
        "Performance-Probleme seit dem {date}",
    ),
    "integration": (
        "{integration}-Integration funktioniert nicht mehr",
        "API liefert {error}",
        "Webhook zu {integration} schlägt fehl",
    ),
    "delayed": (
        "Wo ist meine Bestellung {order}?",
        "Lieferung verspätet",
        "Bestellung {order} immer noch nicht geliefert",
    ),
    "lost_package": (
        "Paket verloren gegangen",
        "Laut Sendungsverfolgung zugestellt, aber nichts angekommen",
        "Mein Paket ist verschwunden",
    ),
    "address_change": (
        "Lieferadresse für {order} ändern",
        "Falsche Lieferadresse",
        "Adresse muss aktualisiert werden",
    ),
    "return_request": (
        "Ich möchte meinen {product} zurückgeben",
        "Rücksendung zu Bestellung {order}",
        "Wie schicke ich das zurück?",
    ),
    "refund_status": (
        "Wo bleibt meine Erstattung?",
        "Keine Rückerstattung für {order} erhalten",
        "Status der Rückerstattung",
    ),
    "exchange": (
        "{product} gegen andere Farbe umtauschen",
        "Umtauschanfrage",
        "Kann ich meinen {product} umtauschen?",
    ),
    "pricing": (
        "Frage zu den Preisen",
        "Unterschied zwischen den Tarifen",
        "Gibt es Rabatte für Teams?",
    ),
    "compatibility": (
        "Funktioniert {product} mit {device}?",
        "Frage zur Kompatibilität",
        "Wird {product} auf {device} unterstützt?",
    ),
    "how_to": (
        "Wie exportiere ich meine Daten?",
        "Wie füge ich einen Benutzer hinzu?",
        "Frage zur Nutzung von {product}",
    ),
    "ui_glitch": (
        "Überlappende Buttons in {browser}",
        "Darstellungsfehler auf der Einstellungsseite",
        "Layout nach dem Update kaputt",
    ),
    "data_error": (
        "Falsche Zahlen in meinem Bericht",
        "Daten zeigen falsche Summen",
        "Dashboard zeigt falsche Werte",
    ),
    "notifications": (
        "Keine Benachrichtigungen mehr",
        "Doppelte Benachrichtigungen",
        "Push-Benachrichtigungen funktionieren nicht",
    ),
    "suspicious_login": (
        "Jemand hat sich in mein Konto eingeloggt",
        "Verdächtige Anmeldung von unbekanntem Ort",
        "Warnung über unbekannte Anmeldung",
    ),
    "phishing": (
        "Phishing-Mail in Ihrem Namen",
        "Verdächtige E-Mail fragt nach meinem Passwort",
        "Ist diese E-Mail wirklich von Ihnen?",
    ),
    "data_request": (
        "Auskunft über meine personenbezogenen Daten",
        "Bitte Konto und Daten löschen",
        "DSGVO-Anfrage",
    ),
    "new_feature": (
        "Funktionswunsch: Dunkelmodus",
        "Vorschlag für {product}",
        "Bitte wiederkehrende Aufgaben einführen",
    ),
    "integration_request": (
        "Integration mit {integration}?",
        "Bitte einen {integration}-Connector anbieten",
        "Ist Unterstützung für {integration} geplant?",
    ),
    "no_power": (
        "{product} lässt sich nicht einschalten",
        "Gerät zeigt keine Reaktion",
        "{product} startet nicht",
    ),
    "battery": ("Akku entlädt sich sehr schnell", "Akkuproblem mit {product}", "Akku lädt nicht"),
    "connectivity": (
        "{product} verliert ständig die WLAN-Verbindung",
        "Bluetooth-Kopplung schlägt fehl",
        "{product} lässt sich nicht mit dem Netzwerk verbinden",
    ),
}

PROBLEMS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "Am {date} wurden mir {amount} zweimal für dasselbe Abo abgebucht, obwohl ich nur ein Konto habe.",
        "Auf meinem Kontoauszug sehe ich diesen Monat zwei identische Zahlungen über {amount} an Sie.",
        "Die Rechnung zeigt eine Zahlung, aber meine Karte wurde zweimal belastet, bitte prüfen Sie das.",
    ),
    "invoice": (
        "Könnten Sie mir die Rechnung für meine Zahlung über {amount} vom {date} schicken? Unsere Buchhaltung braucht sie.",
        "Ich finde die Rechnung {invoice} nicht im Abrechnungsbereich, können Sie mir eine PDF-Kopie mailen?",
        "Wir benötigen die Rechnung auf unseren Firmennamen mit Umsatzsteuer-ID.",
    ),
    "payment_failed": (
        "Jedes Mal, wenn ich {amount} bezahlen will, heißt es, meine Karte sei abgelehnt worden, obwohl sie überall sonst funktioniert.",
        "Nach Eingabe der Kartendaten bricht der Bezahlvorgang mit dem Fehler {error} ab.",
        "Die automatische Verlängerung ist fehlgeschlagen und jetzt bekomme ich Warnungen, dass mein Konto gesperrt wird.",
    ),
    "subscription": (
        "Ich möchte ab nächstem Monat von meinem aktuellen Tarif in den Tarif {plan} wechseln.",
        "Wir sind jetzt weniger Leute, bitte stufen Sie unser Abo herab und passen Sie den Preis an.",
        "Ich finde in den Kontoeinstellungen nicht, wo ich das Abo kündigen kann.",
    ),
    "password_reset": (
        "Ich habe dreimal ein neues Passwort angefordert, aber die E-Mail kommt nie an, auch nicht im Spam.",
        "Der Link zum Zurücksetzen sagt sofort, dass er abgelaufen ist.",
        "Ich habe mein Passwort vergessen und die Seite behauptet, es gebe kein Konto für {email}.",
    ),
    "two_factor": (
        "Ich habe ein neues Handy und bekomme jetzt keine Codes für die Zwei-Faktor-Authentifizierung mehr.",
        "Der Code aus meiner Authenticator-App wird immer als ungültig abgelehnt.",
        "Die SMS mit dem Bestätigungscode kommt nicht an, deshalb kann ich mich nicht anmelden.",
    ),
    "account_locked": (
        "Mein Konto wurde nach ein paar falschen Passworteingaben gesperrt und ich kann es nicht entsperren.",
        "Beim Anmelden steht da, das Konto sei gesperrt, ich habe keine Ahnung warum.",
        "Ich komme nicht mehr in mein Konto und die E-Mail zum Entsperren ist nie gekommen.",
    ),
    "app_crash": (
        "Seit Version {version} stürzt {product} auf meinem {device} direkt nach dem Öffnen ab.",
        "Die App schließt sich ohne Meldung, sobald ich ein Projekt öffne.",
        "{product} friert ein und stürzt beim Hochladen einer Datei ab, Fehler {error}.",
    ),
    "sync_error": (
        "Meine Dateien werden zwischen Laptop und {device} nicht synchronisiert, es erscheint Fehler {error}.",
        "Änderungen auf einem Gerät tauchen stundenlang nicht auf dem anderen auf.",
        "Seit dem {date} hängt {product} bei „Synchronisierung läuft“ und nichts wird aktualisiert.",
    ),
    "performance": (
        "{product} braucht über eine Minute für jede Seite, früher ging das sofort.",
        "In {browser} ist alles sehr langsam, die Suche dauert ewig.",
        "Sobald ein Projekt mehr als ein paar hundert Einträge hat, wird die App unbenutzbar langsam.",
    ),
    "integration": (
        "Unsere {integration}-Integration sendet seit dem {date} keine Daten mehr, im Log steht {error}.",
        "Aufrufe Ihrer API liefern {error}, obwohl unser Token gültig ist.",
        "Der Webhook zu {integration} schlägt jedes Mal fehl und es werden keine Datensätze angelegt.",
    ),
    "delayed": (
        "Ich habe am {date} bestellt und meine Bestellung {order} ist immer noch nicht da.",
        "Die Sendungsverfolgung hat sich seit Tagen nicht geändert und der Liefertermin ist vorbei.",
        "Die Lieferung nach {city} sollte drei Tage dauern, jetzt ist es schon viel länger.",
    ),
    "lost_package": (
        "Laut Sendungsverfolgung wurde mein Paket am {date} zugestellt, aber ich habe es nie bekommen.",
        "Mein Paket mit der Bestellung {order} scheint verloren zu sein, der Paketdienst hat keine Informationen.",
        "Es ist nichts angekommen, weder die Nachbarn noch der Empfang haben das Paket.",
    ),
    "address_change": (
        "Ich habe bei Bestellung {order} die falsche Straße angegeben, bitte ändern Sie die Lieferadresse.",
        "Ich bin letzte Woche nach {city} umgezogen, können Sie die Sendung an meine neue Adresse umleiten?",
        "Die Bestellung geht an meine alte Adresse, bitte aktualisieren Sie sie vor dem Versand.",
    ),
    "return_request": (
        "Ich möchte den gekauften {product} zurückgeben, er entspricht nicht meinen Erwartungen.",
        "Der {product} ist heute angekommen, aber ich habe es mir anders überlegt, wie kann ich ihn zurückschicken?",
        "Bitte senden Sie mir ein Rücksendeetikett für Bestellung {order}.",
    ),
    "refund_status": (
        "Ich habe den {product} am {date} zurückgeschickt und meine Erstattung über {amount} immer noch nicht erhalten.",
        "Sie haben die Rücksendung bestätigt, aber das Geld ist nicht auf meiner Karte.",
        "Wie lange dauert eine Rückerstattung? Ich warte auf {amount} für Bestellung {order}.",
    ),
    "exchange": (
        "Der {product} funktioniert, aber ich würde ihn gern gegen die andere Farbe umtauschen.",
        "Kann ich meinen {product} gegen das neuere Modell umtauschen und die Differenz zahlen?",
        "Ich habe die falsche Variante bekommen und möchte sie gegen die bestellte tauschen.",
    ),
    "pricing": (
        "Was ist der Unterschied zwischen dem Pro- und dem Business-Tarif?",
        "Gibt es einen Rabatt, wenn wir Lizenzen für 20 Personen kaufen?",
        "Kostet zusätzlicher Speicher im Tarif {plan} extra?",
    ),
    "compatibility": (
        "Funktioniert {product} mit meinem {device}? Ich finde es nicht in den Systemanforderungen.",
        "Ist {product} mit älteren Versionen des Betriebssystems kompatibel?",
        "Bevor ich kaufe, möchte ich wissen, ob {product} {device} unterstützt.",
    ),
    "how_to": (
        "Wie exportiere ich alle meine Projekte aus {product} in eine Tabelle?",
        "Ich finde nicht heraus, wie ich einen Kollegen in meinen Arbeitsbereich einlade.",
        "Wo kann ich in {product} Sprache und Zeitzone ändern?",
    ),
    "ui_glitch": (
        "In {browser} ist der Speichern-Button hinter dem Menü versteckt, ich kann ihn nicht anklicken.",
        "Seit dem letzten Update überlappen sich die Texte auf der Einstellungsseite.",
        "Die Kalenderansicht ist auf meinem {device} rechts abgeschnitten.",
    ),
    "data_error": (
        "Der Monatsbericht zeigt Summen, die nicht zu den einzelnen Einträgen passen.",
        "Einige meiner Einträge haben das gestrige Datum, obwohl ich sie heute angelegt habe.",
        "Das Dashboard zählt jeden Eintrag doppelt, deshalb sind alle Zahlen falsch.",
    ),
    "notifications": (
        "Ich bekomme auf meinem {device} keine Benachrichtigungen mehr, obwohl sie aktiviert sind.",
        "Zu jedem Kommentar kommt dieselbe Benachrichtigung fünf- oder sechsmal.",
        "E-Mail-Benachrichtigungen kommen stundenlang verspätet oder gar nicht.",
    ),
    "suspicious_login": (
        "Ich habe eine Warnung bekommen, dass sich jemand aus einem anderen Land in mein Konto eingeloggt hat, das war ich nicht.",
        "Im Anmeldeverlauf stehen Geräte, die mir nicht gehören.",
        "Mein Passwort wurde ohne mein Wissen geändert und ich sehe unbekannte Aktivitäten.",
    ),
    "phishing": (
        "Ich habe eine E-Mail bekommen, die wie Ihre aussieht und mich bittet, mein Passwort auf einer seltsamen Website zu bestätigen.",
        "Jemand verschickt Nachrichten in Ihrem Namen mit einem Link zu einer gefälschten Anmeldeseite.",
        "Ich habe meine Daten vielleicht auf einer Phishing-Seite eingegeben, was soll ich tun?",
    ),
    "data_request": (
        "Gemäß DSGVO bitte ich um eine Kopie aller personenbezogenen Daten, die Sie über mich speichern.",
        "Bitte löschen Sie mein Konto und alle Daten zu {email}.",
        "Ich möchte wissen, welche meiner Daten Sie an Dritte weitergeben.",
    ),
    "new_feature": (
        "Es wäre toll, wenn {product} einen Dunkelmodus hätte, abends ist das sehr anstrengend für die Augen.",
        "Könnten Sie wiederkehrende Aufgaben einbauen? Im Moment legen wir sie jede Woche von Hand an.",
        "Bitte denken Sie über einen Offline-Modus nach, wir arbeiten oft ohne Internet.",
    ),
    "integration_request": (
        "Planen Sie eine Integration mit {integration}? Wir nutzen es für alles.",
        "Wir hätten gern einen nativen {integration}-Connector statt Dateien zu exportieren.",
        "Eine offizielle {integration}-Integration würde unserem Team jede Woche Stunden sparen.",
    ),
    "no_power": (
        "Mein {product} lässt sich nicht mehr einschalten, keine Lämpchen, nichts, auch nicht nach einer Nacht am Ladegerät.",
        "Der {product} ist gestern plötzlich ausgegangen und reagiert nicht auf den Einschaltknopf.",
        "Nach einem Firmware-Update bleibt der {product} schwarz und startet nicht.",
    ),
    "battery": (
        "Der Akku meines {product} ist in wenigen Stunden von voll auf leer.",
        "Mein {product} lädt nicht über 40 Prozent.",
        "Der {product} wird beim Laden heiß und der Akku ist schnell leer.",
    ),
    "connectivity": (
        "Mein {product} verliert alle paar Minuten die WLAN-Verbindung.",
        "Ich kann den {product} nicht per Bluetooth mit meinem {device} koppeln.",
        "Der {product} findet mein Heimnetz nicht, obwohl andere Geräte es finden.",
    ),
}

ANSWERS = {
    "double_charge": "Ich habe Ihre Zahlungen geprüft: Die zweite Abbuchung über {amount} war ein Duplikat und wurde erstattet. Der Betrag ist innerhalb von 5 Werktagen wieder auf Ihrem Konto.",
    "invoice": "Anbei finden Sie die gewünschte Rechnung. Alle Rechnungen können Sie jederzeit unter Einstellungen > Abrechnung > Rechnungen herunterladen.",
    "payment_failed": "Die Zahlung wurde von der Sicherheitsprüfung Ihrer Bank abgelehnt. Bitte bestätigen Sie die Zahlung in Ihrer Banking-App oder nutzen Sie eine andere Karte; Ihr Konto bleibt noch 7 Tage aktiv.",
    "subscription": "Ich habe Ihr Abo wie gewünscht geändert. Der neue Preis gilt ab dem nächsten Abrechnungsdatum, Sie erhalten eine Bestätigung per E-Mail.",
    "password_reset": "Ich habe Ihnen einen neuen Link zum Zurücksetzen geschickt, er ist 24 Stunden gültig. Falls er nicht ankommt, fügen Sie unsere Adresse bitte zu den sicheren Absendern hinzu.",
    "two_factor": "Ich habe die Zwei-Faktor-Authentifizierung in Ihrem Konto zurückgesetzt. Bitte melden Sie sich mit Ihrem Passwort an und richten Sie 2FA auf dem neuen Handy neu ein.",
    "account_locked": "Ihr Konto wurde nach fehlgeschlagenen Anmeldeversuchen aus Sicherheitsgründen gesperrt. Ich habe es entsperrt; bitte setzen Sie vor der Anmeldung ein neues Passwort.",
    "app_crash": "Vielen Dank für die Details. Unsere Entwickler haben die Ursache des Absturzes gefunden, die Korrektur kommt mit dem nächsten Release; bis dahin installieren Sie bitte Version 4.1.",
    "sync_error": "Bitte melden Sie sich auf beiden Geräten ab und wieder an und leeren Sie den lokalen Cache, dann startet die Synchronisierung neu. Ihre Daten auf unseren Servern sind sicher.",
    "performance": "Wir haben eine langsame Datenbankabfrage gefunden, die einige Konten betraf, und behoben. Bitte leeren Sie den Browser-Cache und melden Sie sich, falls es noch langsam ist.",
    "integration": "Die Verbindung zu {integration} ist fehlgeschlagen, weil das Zugriffstoken abgelaufen ist. Bitte verbinden Sie die Integration unter Einstellungen > Integrationen neu.",
    "delayed": "Ihre Bestellung ist unterwegs, beim Paketdienst gab es eine Verzögerung im Verteilzentrum. Die neue Lieferung erfolgt innerhalb von 2 Werktagen.",
    "lost_package": "Ich habe einen Nachforschungsauftrag beim Paketdienst gestellt. Wenn das Paket nicht innerhalb von 5 Tagen gefunden wird, schicken wir kostenlos Ersatz.",
    "address_change": "Ich habe die Lieferadresse Ihrer Bestellung aktualisiert. Der Paketdienst hat die Änderung vor dem Versand übernommen.",
    "return_request": "Ich habe Ihre Rücksendung angelegt und Ihnen ein frankiertes Rücksendeetikett gemailt. Bitte verpacken Sie den Artikel im Originalkarton und geben Sie ihn bei einer Postfiliale ab.",
    "refund_status": "Ihre Erstattung wurde heute veranlasst. Je nach Bank dauert es 3 bis 7 Werktage, bis das Geld auf Ihrem Konto ist.",
    "exchange": "Ich habe den Umtausch veranlasst. Bitte senden Sie den Artikel mit dem beiliegenden Etikett zurück; der neue wird verschickt, sobald die Rücksendung gescannt ist.",
    "pricing": "Der Business-Tarif bietet zusätzlich Admin-Funktionen, SSO und Priority-Support. Teams ab 10 Personen erhalten bei jährlicher Zahlung 15 % Rabatt.",
    "compatibility": "Ja, {product} unterstützt dieses Gerät mit der aktuellen Betriebssystemversion. Die vollständige Liste finden Sie auf unserer Kompatibilitätsseite.",
    "how_to": "Das geht unter Einstellungen > Arbeitsbereich. Unten habe ich Ihnen eine kurze Schritt-für-Schritt-Anleitung eingefügt.",
    "ui_glitch": "Danke für die Meldung des Darstellungsfehlers. Wir konnten ihn nachstellen, die Korrektur kommt mit dem nächsten Update.",
    "data_error": "Wir haben einen Fehler bei der Berechnung der Summen für Ihr Konto gefunden und die Berichte neu berechnet. Die Zahlen sollten jetzt stimmen.",
    "notifications": "Bitte prüfen Sie, ob Benachrichtigungen in den Handy-Einstellungen erlaubt sind, und aktivieren Sie sie in der App erneut. Außerdem haben wir einen Fehler mit doppelten Meldungen behoben.",
    "suspicious_login": "Ich habe alle Sitzungen beendet und das Konto zu Ihrer Sicherheit gesperrt. Bitte vergeben Sie ein neues Passwort und aktivieren Sie die Zwei-Faktor-Authentifizierung.",
    "phishing": "Danke für den Hinweis. Diese E-Mail stammt nicht von uns, bitte löschen Sie sie. Falls Sie Ihr Passwort eingegeben haben, ändern Sie es jetzt und aktivieren Sie die Zwei-Faktor-Authentifizierung.",
    "data_request": "Wir haben Ihre Anfrage zu Ihren personenbezogenen Daten erhalten und bearbeiten sie gemäß DSGVO innerhalb von 30 Tagen. Sie erhalten eine Bestätigung per E-Mail.",
    "new_feature": "Vielen Dank für den Vorschlag! Ich habe ihn an unser Produktteam weitergegeben und Ihre Stimme zum Funktionswunsch hinzugefügt.",
    "integration_request": "Danke für die Idee. Eine {integration}-Integration steht auf unserer Roadmap; ich habe Ihr Unternehmen auf die Liste der Interessenten gesetzt.",
    "no_power": "Bitte halten Sie den Einschaltknopf 20 Sekunden gedrückt, um einen Neustart zu erzwingen. Startet das Gerät dann immer noch nicht, tauschen wir es im Rahmen der Garantie aus.",
    "battery": "Bitte aktualisieren Sie die Firmware und führen Sie einen vollständigen Ladezyklus durch. Wenn der Akku weiterhin schnell leer ist, wird er kostenlos getauscht.",
    "connectivity": "Bitte starten Sie Ihren Router neu und setzen Sie die Netzwerkeinstellungen des Geräts zurück. Die neueste Firmware behebt außerdem mehrere WLAN-Probleme.",
}

ARTICLES = {
    "invoice": (
        "Wie lade ich meine Rechnungen herunter?",
        "Alle Rechnungen finden Sie in Ihrem Konto unter Einstellungen > Abrechnung > Rechnungen. Klicken Sie auf die Rechnungsnummer, um ein PDF herunterzuladen. Firmenname und USt-ID können Sie vor der nächsten Zahlung in den Rechnungsdaten hinterlegen.",
    ),
    "subscription": (
        "Wie ändere oder kündige ich mein Abo?",
        "Öffnen Sie Einstellungen > Abrechnung > Tarif. Wählen Sie „Tarif ändern“ für ein Upgrade oder Downgrade oder „Abo kündigen“, um die Verlängerung zu beenden. Änderungen gelten ab dem nächsten Abrechnungsdatum.",
    ),
    "password_reset": (
        "Ich habe keine E-Mail zum Zurücksetzen des Passworts erhalten",
        "Links zum Zurücksetzen sind 24 Stunden gültig. Prüfen Sie Ihren Spam-Ordner und fügen Sie unsere Adresse zu den sicheren Absendern hinzu. Verwenden Sie die E-Mail-Adresse Ihres Kontos. Nur der neueste Link funktioniert.",
    ),
    "account_locked": (
        "Mein Konto ist gesperrt",
        "Nach fünf fehlgeschlagenen Anmeldeversuchen wird das Konto für 30 Minuten gesperrt. Warten Sie und versuchen Sie es erneut, oder nutzen Sie „Passwort vergessen“, um es sofort zu entsperren.",
    ),
    "delayed": (
        "Meine Bestellung ist noch nicht angekommen",
        "Bestellungen werden innerhalb von 1 Werktag versendet, die Lieferung dauert 2 bis 5 Werktage. Den aktuellen Status sehen Sie über den Link zur Sendungsverfolgung in der Versandbestätigung. Ändert sich der Status 5 Tage nicht, melden Sie sich bei uns.",
    ),
    "return_request": (
        "Wie sende ich einen Artikel zurück?",
        "Sie können jeden Artikel innerhalb von 30 Tagen zurückgeben. Öffnen Sie Bestellungen, wählen Sie den Artikel und klicken Sie auf Zurücksenden. Wir mailen Ihnen ein frankiertes Etikett; verpacken Sie den Artikel im Originalkarton.",
    ),
    "refund_status": (
        "Wann erhalte ich meine Erstattung?",
        "Erstattungen werden innerhalb von 2 Werktagen nach Eingang der Rücksendung veranlasst. Ihre Bank benötigt danach 3 bis 7 Werktage. Sie erhalten eine E-Mail, sobald die Erstattung veranlasst ist.",
    ),
    "data_request": (
        "Wie fordere ich meine Daten an oder lösche sie?",
        "Eine Kopie Ihrer Daten können Sie unter Einstellungen > Datenschutz > Export herunterladen. Um Ihr Konto und Ihre Daten zu löschen, wählen Sie „Konto löschen“; die Löschung erfolgt gemäß DSGVO innerhalb von 30 Tagen.",
    ),
    "no_power": (
        "Mein Gerät lässt sich nicht einschalten",
        "Laden Sie das Gerät mindestens 30 Minuten mit dem Originalkabel. Halten Sie dann den Einschaltknopf 20 Sekunden gedrückt, um einen Neustart zu erzwingen. Leuchtet weiterhin nichts, wird das Gerät im Rahmen der Garantie ersetzt.",
    ),
    "connectivity": (
        "Das Gerät verbindet sich nicht mit WLAN oder Bluetooth",
        "Das Gerät unterstützt nur WLAN mit 2,4 GHz. Starten Sie den Router neu, stellen Sie das Gerät näher an den Router und setzen Sie die Netzwerkeinstellungen zurück. Für Bluetooth entfernen Sie die alte Kopplung am Handy und koppeln neu.",
    ),
}

BOOK = PhraseBook(
    language="de",
    subjects=SUBJECTS,
    problems=PROBLEMS,
    answers=ANSWERS,
    articles=ARTICLES,
    openers=(
        "Hallo,",
        "Guten Tag,",
        "Sehr geehrte Damen und Herren,",
        "Hallo Support-Team,",
        "Guten Morgen,",
    ),
    followups=(
        "Ich schreibe noch einmal wegen Ticket {ticket}.",
        "Es geht um mein vorheriges Ticket {ticket}, das Problem ist immer noch nicht gelöst.",
        "Ich habe das bereits in {ticket} gemeldet und seitdem ist nichts passiert.",
        "Nachtrag zu {ticket}: Das Problem ist schon wieder da.",
    ),
    context={
        "order": (
            "Meine Bestellnummer ist {order}.",
            "Ich habe den {product} am {date} bestellt.",
            "Die Lieferadresse ist in {city}.",
        ),
        "account": (
            "Die E-Mail-Adresse meines Kontos ist {email}.",
            "Ich habe den Tarif {plan}.",
            "Wir nutzen {product} in einem Team von 12 Personen.",
        ),
        "device": (
            "Ich nutze {product} Version {version} auf {device}.",
            "Das passiert auf {device} und in {browser}.",
            "Neustart und Neuinstallation habe ich schon versucht.",
        ),
        "billing": (
            "Die E-Mail-Adresse meines Kontos ist {email}.",
            "Ich habe den Tarif {plan} mit monatlicher Zahlung.",
            "Die Rechnungsnummer ist {invoice}.",
        ),
        "general": (
            "Wir nutzen {product} im Tarif {plan}.",
            "Ich bin seit zwei Jahren Kunde.",
            "Unser Team hat etwa 15 Leute.",
        ),
    },
    also=("Außerdem noch etwas:", "Noch eine Frage bei der Gelegenheit:", "Anderes Thema:"),
    urgent=(
        "Das ist dringend, unser ganzes Team kann nicht arbeiten.",
        "Bitte behandeln Sie das dringend, wir verlieren jede Stunde Geld.",
        "DRINGEND, das muss heute behoben werden.",
    ),
    high=(
        "Bitte helfen Sie so schnell wie möglich.",
        "Das blockiert meine Arbeit, über eine schnelle Antwort würde ich mich freuen.",
        "Ich brauche hier bald eine Lösung.",
    ),
    anger=(
        "Das ist inakzeptabel.",
        "Ich bin wirklich verärgert, ich schreibe Ihnen jetzt schon zum dritten Mal.",
        "Ihr Service ist in letzter Zeit miserabel, ich überlege zu kündigen.",
        "Wenn das nicht behoben wird, verlange ich mein Geld zurück.",
    ),
    closings=(
        "Danke,",
        "Vielen Dank im Voraus,",
        "Mit freundlichen Grüßen,",
        "Viele Grüße,",
        "Beste Grüße,",
    ),
    vague=(
        ("Hilfe", "Hilfe bitte, es geht nicht"),
        ("Problem", "Mit meinem Konto stimmt etwas nicht, bitte prüfen."),
        ("Funktioniert nicht", "Es funktioniert schon wieder nicht. Was soll ich tun?"),
        ("Frage", "Hallo, ich habe eine Frage, kann mich jemand anrufen?"),
    ),
    urgent_prefix="DRINGEND: ",
    reply_prefixes=("AW: ", "Re: "),
    agent_greetings=("Hallo {name},", "Guten Tag {name},"),
    agent_signoffs=("Viele Grüße\n{agent}", "Mit freundlichen Grüßen\n{agent}\nKundenservice"),
    clarify="Vielen Dank für Ihre Nachricht. Können Sie das Problem etwas genauer beschreiben: welches Produkt, was Sie schon versucht haben und welche Fehlermeldung erscheint? Dann können wir sofort helfen.",
    first_names=(
        "Lukas",
        "Anna",
        "Jonas",
        "Laura",
        "Felix",
        "Sophie",
        "Maximilian",
        "Lea",
        "Paul",
        "Marie",
        "Tobias",
        "Katrin",
    ),
    email_domain="example.de",
    cities=("Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Wien", "Zürich"),
    money=lambda amount: f"{amount:,.2f} €".replace(",", "X").replace(".", ",").replace("X", "."),
    day=lambda d: f"{d.day}. {_MONTHS[d.month - 1]}",
)
