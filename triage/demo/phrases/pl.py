"""Polish phrase book.

Over 400 lines on purpose: this is a data table (every sentence the demo's customers and
agents write in one language, one per line), not logic; a language's phrases stay in one
file so that a translator reads and edits them side by side.
"""

from __future__ import annotations

from triage.demo.phrases import PhraseBook

# Genitive month names: "3 marca".
_MONTHS = (
    "stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca",
    "lipca", "sierpnia", "września", "października", "listopada", "grudnia",
)  # fmt: skip

SUBJECTS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "Podwójne obciążenie za subskrypcję",
        "Pobrano płatność dwa razy",
        "Dlaczego obciążono moją kartę dwukrotnie?",
    ),
    "invoice": (
        "Prośba o fakturę za {date}",
        "Proszę o kopię faktury {invoice}",
        "Potrzebuję faktury VAT",
    ),
    "payment_failed": (
        "Płatność nie przechodzi",
        "Karta odrzucona przy płatności",
        "Nie mogę dokończyć płatności",
    ),
    "subscription": (
        "Zmiana planu na {plan}",
        "Obniżenie subskrypcji",
        "Jak anulować subskrypcję?",
    ),
    "password_reset": (
        "Nie mogę zresetować hasła",
        "Link do resetu hasła nie działa",
        "Nie dostaję maila do odzyskania hasła",
    ),
    "two_factor": (
        "Zgubiłem telefon, brak kodu 2FA",
        "Kod weryfikacji dwuetapowej nie jest akceptowany",
        "Problem z aplikacją uwierzytelniającą",
    ),
    "account_locked": (
        "Moje konto jest zablokowane",
        "Konto zablokowane po nieudanych logowaniach",
        "Nie mogę się zalogować, blokada konta",
    ),
    "app_crash": (
        "{product} zawiesza się przy starcie",
        "Aplikacja ciągle się wyłącza",
        "{product} zamyka się po aktualizacji",
    ),
    "sync_error": (
        "Błąd synchronizacji {error}",
        "Pliki się nie synchronizują",
        "{product} utknął na synchronizacji",
    ),
    "performance": (
        "{product} działa bardzo wolno",
        "Strony ładują się bardzo długo",
        "Problemy z wydajnością od {date}",
    ),
    "integration": (
        "Integracja z {integration} przestała działać",
        "API zwraca {error}",
        "Webhook do {integration} nie działa",
    ),
    "delayed": (
        "Gdzie jest moje zamówienie {order}?",
        "Opóźniona dostawa",
        "Zamówienie {order} wciąż nie dotarło",
    ),
    "lost_package": (
        "Zaginiona paczka",
        "Status doręczona, ale nic nie przyszło",
        "Moja przesyłka zniknęła",
    ),
    "address_change": (
        "Zmiana adresu dostawy dla {order}",
        "Błędny adres wysyłki",
        "Muszę zaktualizować adres",
    ),
    "return_request": (
        "Chcę zwrócić {product}",
        "Zwrot zamówienia {order}",
        "Jak odesłać produkt?",
    ),
    "refund_status": (
        "Gdzie jest mój zwrot pieniędzy?",
        "Nie otrzymałem zwrotu za {order}",
        "Status zwrotu środków",
    ),
    "exchange": (
        "Wymiana {product} na inny kolor",
        "Prośba o wymianę",
        "Czy mogę wymienić {product}?",
    ),
    "pricing": ("Pytanie o cennik", "Różnice między planami", "Czy są zniżki dla zespołów?"),
    "compatibility": (
        "Czy {product} działa z {device}?",
        "Pytanie o kompatybilność",
        "Czy {product} jest obsługiwany na {device}?",
    ),
    "how_to": (
        "Jak wyeksportować moje dane?",
        "Jak dodać użytkownika?",
        "Pytanie o korzystanie z {product}",
    ),
    "ui_glitch": (
        "Nakładające się przyciski w {browser}",
        "Błąd wyświetlania na stronie ustawień",
        "Rozjechany układ po aktualizacji",
    ),
    "data_error": (
        "Błędne liczby w raporcie",
        "Dane pokazują nieprawidłowe sumy",
        "Pulpit pokazuje złe wartości",
    ),
    "notifications": (
        "Nie dostaję powiadomień",
        "Zdublowane powiadomienia",
        "Powiadomienia push przestały działać",
    ),
    "suspicious_login": (
        "Ktoś zalogował się na moje konto",
        "Podejrzane logowanie z nieznanej lokalizacji",
        "Alert o nierozpoznanym logowaniu",
    ),
    "phishing": (
        "Phishing podszywający się pod Was",
        "Podejrzany mail z prośbą o hasło",
        "Czy ten mail jest naprawdę od Was?",
    ),
    "data_request": (
        "Wniosek o kopię moich danych osobowych",
        "Usuńcie moje konto i dane",
        "Wniosek RODO",
    ),
    "new_feature": (
        "Propozycja: tryb ciemny",
        "Sugestia dla {product}",
        "Proszę dodać zadania cykliczne",
    ),
    "integration_request": (
        "Integracja z {integration}?",
        "Proszę dodać konektor {integration}",
        "Czy planujecie wsparcie dla {integration}?",
    ),
    "no_power": (
        "{product} nie włącza się",
        "Urządzenie nie daje oznak życia",
        "{product} nie uruchamia się",
    ),
    "battery": (
        "Bateria bardzo szybko się rozładowuje",
        "Problem z baterią {product}",
        "Bateria się nie ładuje",
    ),
    "connectivity": (
        "{product} ciągle traci połączenie z Wi-Fi",
        "Parowanie Bluetooth nie działa",
        "Nie mogę połączyć {product} z siecią",
    ),
}

PROBLEMS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "{date} pobrano ode mnie dwa razy {amount} za tę samą subskrypcję, a mam tylko jedno konto.",
        "Na wyciągu bankowym widzę w tym miesiącu dwie identyczne płatności po {amount} na Waszą rzecz.",
        "Na fakturze jest jedna płatność, ale karta została obciążona dwukrotnie, proszę to sprawdzić.",
    ),
    "invoice": (
        "Czy możecie przesłać fakturę za płatność {amount} z {date}? Potrzebuje jej nasza księgowość.",
        "Nie mogę znaleźć faktury {invoice} w zakładce płatności, czy możecie wysłać PDF mailem?",
        "Potrzebujemy faktury wystawionej na firmę, z numerem NIP.",
    ),
    "payment_failed": (
        "Za każdym razem, gdy próbuję zapłacić {amount}, strona pokazuje, że karta została odrzucona, a wszędzie indziej działa.",
        "Po wpisaniu danych karty płatność kończy się błędem {error}.",
        "Automatyczne odnowienie nie przeszło i teraz dostaję ostrzeżenia, że konto zostanie zawieszone.",
    ),
    "subscription": (
        "Chciałbym od przyszłego miesiąca przejść z obecnego planu na plan {plan}.",
        "Jest nas teraz mniej, proszę obniżyć naszą subskrypcję i dostosować cenę.",
        "Nie mogę znaleźć w ustawieniach konta, gdzie anulować subskrypcję.",
    ),
    "password_reset": (
        "Trzy razy prosiłem o reset hasła, ale mail nie przychodzi, nawet do spamu.",
        "Link do resetu hasła od razu pokazuje, że wygasł.",
        "Zapomniałam hasła, a strona odzyskiwania twierdzi, że nie ma konta dla {email}.",
    ),
    "two_factor": (
        "Mam nowy telefon i nie dostaję już kodów weryfikacji dwuetapowej.",
        "Kod z aplikacji uwierzytelniającej jest zawsze odrzucany jako nieprawidłowy.",
        "Nie przychodzi SMS z kodem weryfikacyjnym, więc nie mogę się zalogować.",
    ),
    "account_locked": (
        "Po kilku błędnych próbach logowania moje konto zostało zablokowane i nie mogę go odblokować.",
        "Przy logowaniu pojawia się komunikat, że konto jest zawieszone, nie wiem dlaczego.",
        "Nie mam dostępu do konta, a mail z odblokowaniem nie dotarł.",
    ),
    "app_crash": (
        "Od wersji {version} {product} wyłącza się zaraz po uruchomieniu na {device}.",
        "Aplikacja zamyka się bez żadnego komunikatu za każdym razem, gdy otwieram projekt.",
        "{product} zawiesza się i wyłącza przy wysyłaniu pliku, błąd {error}.",
    ),
    "sync_error": (
        "Pliki nie synchronizują się między laptopem a {device}, pojawia się błąd {error}.",
        "Zmiany zrobione na jednym urządzeniu przez wiele godzin nie pojawiają się na drugim.",
        "Od {date} {product} wisi na „synchronizacji” i nic się nie aktualizuje.",
    ),
    "performance": (
        "{product} ładuje każdą stronę ponad minutę, wcześniej działało to natychmiast.",
        "W {browser} wszystko działa bardzo wolno, wyszukiwanie trwa wieki.",
        "Aplikacja robi się strasznie wolna, gdy projekt ma więcej niż kilkaset pozycji.",
    ),
    "integration": (
        "Nasza integracja z {integration} przestała wysyłać dane {date}, w logach jest błąd {error}.",
        "Wywołania Waszego API zwracają {error}, choć nasz token jest ważny.",
        "Webhook do {integration} za każdym razem kończy się błędem i nie tworzą się żadne rekordy.",
    ),
    "delayed": (
        "Zamówiłem {date}, a zamówienie {order} wciąż nie dotarło.",
        "Status przesyłki nie zmienia się od kilku dni, a przewidywana data dostawy minęła.",
        "Dostawa do {city} miała trwać trzy dni, a minęło już dużo więcej.",
    ),
    "lost_package": (
        "Według śledzenia paczka została doręczona {date}, ale nigdy jej nie otrzymałem.",
        "Wygląda na to, że paczka z zamówieniem {order} zaginęła, kurier nie ma żadnych informacji.",
        "Nic nie przyszło, ani sąsiedzi, ani recepcja nie mają paczki.",
    ),
    "address_change": (
        "Podałem złą ulicę w zamówieniu {order}, proszę zmienić adres dostawy.",
        "W zeszłym tygodniu przeprowadziłem się do {city}, czy można przekierować przesyłkę na nowy adres?",
        "Zamówienie idzie na mój stary adres, proszę go zaktualizować przed wysyłką.",
    ),
    "return_request": (
        "Chciałbym zwrócić kupiony {product}, nie spełnia moich oczekiwań.",
        "{product} dotarł dzisiaj, ale zmieniłem zdanie, jak mogę go odesłać?",
        "Proszę o etykietę zwrotną do zamówienia {order}.",
    ),
    "refund_status": (
        "Odesłałem {product} {date} i wciąż nie dostałem zwrotu {amount}.",
        "Potwierdziliście zwrot, ale pieniądze nie wróciły na moją kartę.",
        "Ile trwa zwrot pieniędzy? Czekam na {amount} za zamówienie {order}.",
    ),
    "exchange": (
        "{product} działa, ale chciałbym go wymienić na inny kolor.",
        "Czy mogę wymienić mój {product} na nowszy model z dopłatą?",
        "Dostałem zły wariant, chcę go wymienić na ten, który zamówiłem.",
    ),
    "pricing": (
        "Jaka jest różnica między planem Pro a Business?",
        "Czy jest zniżka, jeśli kupimy licencje dla 20 osób?",
        "Czy za dodatkowe miejsce na dane w planie {plan} trzeba dopłacić?",
    ),
    "compatibility": (
        "Czy {product} będzie działał z moim {device}? Nie mogę tego znaleźć w wymaganiach.",
        "Czy {product} jest kompatybilny ze starszymi wersjami systemu?",
        "Zanim kupię, chcę wiedzieć, czy {product} obsługuje {device}.",
    ),
    "how_to": (
        "Jak wyeksportować wszystkie moje projekty z {product} do arkusza?",
        "Nie mogę się zorientować, jak zaprosić współpracownika do przestrzeni roboczej.",
        "Gdzie w {product} zmienić język i strefę czasową?",
    ),
    "ui_glitch": (
        "W {browser} przycisk „Zapisz” jest schowany pod menu, więc nie da się go kliknąć.",
        "Po ostatniej aktualizacji tekst na stronie ustawień nachodzi na siebie.",
        "Widok kalendarza jest ucięty z prawej strony na {device}.",
    ),
    "data_error": (
        "Miesięczny raport pokazuje sumy, które nie zgadzają się z pojedynczymi wpisami.",
        "Część moich wpisów ma wczorajszą datę, choć utworzyłem je dzisiaj.",
        "Pulpit liczy każdą pozycję podwójnie, więc wszystkie liczby są błędne.",
    ),
    "notifications": (
        "Przestałem dostawać powiadomienia na {device}, choć są włączone.",
        "Dostaję to samo powiadomienie pięć albo sześć razy przy każdym komentarzu.",
        "Powiadomienia mailowe przychodzą z kilkugodzinnym opóźnieniem albo wcale.",
    ),
    "suspicious_login": (
        "Dostałem alert, że ktoś zalogował się na moje konto z innego kraju, to nie byłem ja.",
        "W historii logowań są urządzenia, których nie posiadam.",
        "Moje hasło zostało zmienione bez mojej wiedzy i widzę nieznaną aktywność.",
    ),
    "phishing": (
        "Dostałem maila wyglądającego jak Wasz, z prośbą o potwierdzenie hasła na dziwnej stronie.",
        "Ktoś wysyła wiadomości w Waszym imieniu z linkiem do fałszywej strony logowania.",
        "Chyba podałem swoje dane na stronie phishingowej, co mam zrobić?",
    ),
    "data_request": (
        "Na podstawie RODO proszę o kopię wszystkich danych osobowych, które o mnie przechowujecie.",
        "Proszę usunąć moje konto i wszystkie dane powiązane z {email}.",
        "Chcę wiedzieć, które moje dane przekazujecie podmiotom trzecim.",
    ),
    "new_feature": (
        "Byłoby super, gdyby {product} miał tryb ciemny, praca wieczorem męczy oczy.",
        "Czy możecie dodać zadania cykliczne? Teraz co tydzień tworzymy je ręcznie.",
        "Proszę rozważyć tryb offline, często pracujemy bez internetu.",
    ),
    "integration_request": (
        "Czy planujecie integrację z {integration}? Używamy go do wszystkiego.",
        "Bardzo przydałby się natywny konektor do {integration} zamiast eksportu plików.",
        "Oficjalna integracja z {integration} oszczędziłaby naszemu zespołowi wiele godzin tygodniowo.",
    ),
    "no_power": (
        "Mój {product} już się nie włącza, żadnych diod, nic, nawet po ładowaniu przez całą noc.",
        "{product} wczoraj nagle padł i nie reaguje na przycisk zasilania.",
        "Po aktualizacji oprogramowania {product} ma czarny ekran i nie startuje.",
    ),
    "battery": (
        "Bateria w moim {product} rozładowuje się od pełna do zera w kilka godzin.",
        "Mój {product} nie ładuje się powyżej 40 procent.",
        "{product} bardzo się nagrzewa podczas ładowania, a bateria szybko się wyczerpuje.",
    ),
    "connectivity": (
        "Mój {product} co kilka minut traci połączenie z Wi-Fi.",
        "Nie mogę sparować {product} z {device} przez Bluetooth.",
        "{product} nie widzi mojej sieci domowej, chociaż inne urządzenia ją widzą.",
    ),
}

ANSWERS = {
    "double_charge": "Sprawdziłem Pana/Pani płatności: drugie obciążenie {amount} było duplikatem i zostało zwrócone. Środki pojawią się na koncie w ciągu 5 dni roboczych.",
    "invoice": "W załączniku przesyłam fakturę, o którą Pan/Pani prosił(a). Wszystkie faktury można też pobrać w zakładce Ustawienia > Płatności > Faktury.",
    "payment_failed": "Płatność została odrzucona przez zabezpieczenia banku. Proszę potwierdzić ją w aplikacji bankowej lub użyć innej karty; konto pozostanie aktywne jeszcze przez 7 dni.",
    "subscription": "Zmieniłem subskrypcję zgodnie z prośbą. Nowa cena obowiązuje od następnej daty płatności, potwierdzenie przyjdzie mailem.",
    "password_reset": "Wysłałem nowy link do resetu hasła, jest ważny przez 24 godziny. Jeśli nie dotrze, proszę dodać nasz adres do zaufanych nadawców.",
    "two_factor": "Zresetowałem weryfikację dwuetapową na koncie. Proszę zalogować się hasłem i ponownie skonfigurować 2FA na nowym telefonie.",
    "account_locked": "Konto zostało zablokowane ze względów bezpieczeństwa po nieudanych próbach logowania. Odblokowałem je, proszę zmienić hasło przed zalogowaniem.",
    "app_crash": "Dziękuję za szczegóły. Nasi programiści znaleźli przyczynę awarii, poprawka będzie w następnym wydaniu; do tego czasu proszę zainstalować wersję 4.1.",
    "sync_error": "Proszę wylogować się i zalogować ponownie na obu urządzeniach oraz wyczyścić lokalną pamięć podręczną, to uruchomi synchronizację od nowa. Dane na naszych serwerach są bezpieczne.",
    "performance": "Znaleźliśmy wolne zapytanie do bazy danych, które dotyczyło części kont, i naprawiliśmy je. Proszę wyczyścić pamięć podręczną przeglądarki i dać znać, jeśli nadal działa wolno.",
    "integration": "Połączenie z {integration} przestało działać, bo wygasł token dostępu. Proszę ponownie połączyć integrację w zakładce Ustawienia > Integracje.",
    "delayed": "Zamówienie jest w drodze, kurier miał opóźnienie w sortowni regionalnej. Nowy termin dostawy to maksymalnie 2 dni robocze.",
    "lost_package": "Zgłosiłem reklamację u przewoźnika. Jeśli paczka nie odnajdzie się w ciągu 5 dni, wyślemy bezpłatnie nowy egzemplarz.",
    "address_change": "Zaktualizowałem adres dostawy w zamówieniu. Kurier przyjął zmianę przed nadaniem przesyłki.",
    "return_request": "Utworzyłem zwrot i wysłałem mailem opłaconą etykietę zwrotną. Proszę zapakować produkt w oryginalne pudełko i nadać w dowolnej placówce pocztowej.",
    "refund_status": "Zwrot został zlecony dzisiaj. W zależności od banku pieniądze pojawią się na koncie w ciągu 3–7 dni roboczych.",
    "exchange": "Zorganizowałem wymianę. Proszę odesłać produkt z załączoną etykietą, nowy wyślemy, gdy tylko zwrot zostanie zeskanowany.",
    "pricing": "Plan Business dodaje panel administratora, SSO i priorytetowe wsparcie. Zespoły od 10 osób dostają 15% zniżki przy płatności rocznej.",
    "compatibility": "Tak, {product} obsługuje to urządzenie z najnowszą wersją systemu. Pełna lista jest na naszej stronie kompatybilności.",
    "how_to": "Można to zrobić w zakładce Ustawienia > Przestrzeń robocza. Poniżej dodałem krótką instrukcję krok po kroku.",
    "ui_glitch": "Dziękuję za zgłoszenie błędu wyświetlania. Udało nam się go odtworzyć, poprawka będzie w następnej aktualizacji.",
    "data_error": "Znaleźliśmy błąd w obliczaniu sum dla Pana/Pani konta i przeliczyliśmy raporty. Liczby powinny być już poprawne.",
    "notifications": "Proszę sprawdzić, czy powiadomienia są dozwolone w ustawieniach telefonu, i włączyć je ponownie w aplikacji. Naprawiliśmy też błąd powodujący duplikaty.",
    "suspicious_login": "Wylogowałem wszystkie sesje i zablokowałem konto dla bezpieczeństwa. Proszę ustawić nowe hasło i włączyć weryfikację dwuetapową.",
    "phishing": "Dziękujemy za zgłoszenie. Ten mail nie pochodził od nas, proszę go usunąć. Jeśli podał(a) Pan/Pani hasło, proszę je teraz zmienić i włączyć weryfikację dwuetapową.",
    "data_request": "Otrzymaliśmy wniosek dotyczący danych osobowych i zrealizujemy go w ciągu 30 dni, zgodnie z RODO. Potwierdzenie przyjdzie mailem.",
    "new_feature": "Dziękujemy za sugestię! Przekazałem ją zespołowi produktowemu i dodałem Pana/Pani głos do tej propozycji.",
    "integration_request": "Dziękujemy za pomysł. Integracja z {integration} jest w naszych planach, dodałem Państwa firmę do listy zainteresowanych klientów.",
    "no_power": "Proszę przytrzymać przycisk zasilania przez 20 sekund, aby wymusić restart. Jeśli urządzenie nadal się nie uruchomi, wymienimy je w ramach gwarancji.",
    "battery": "Proszę zaktualizować oprogramowanie i wykonać pełny cykl ładowania. Jeśli bateria nadal szybko się rozładowuje, wymienimy ją bezpłatnie.",
    "connectivity": "Proszę zrestartować router i zresetować ustawienia sieciowe urządzenia. Najnowsze oprogramowanie naprawia też kilka problemów z Wi-Fi.",
}

ARTICLES = {
    "invoice": (
        "Jak pobrać faktury?",
        "Wszystkie faktury są dostępne na koncie w zakładce Ustawienia > Płatności > Faktury. Kliknij numer faktury, aby pobrać PDF. Dane firmy i NIP można uzupełnić w danych rozliczeniowych przed kolejną płatnością.",
    ),
    "password_reset": (
        "Nie dostałem maila do resetu hasła",
        "Link do resetu jest ważny 24 godziny. Sprawdź folder spam i dodaj nasz adres do zaufanych nadawców. Upewnij się, że podajesz adres e-mail przypisany do konta. Działa tylko najnowszy link.",
    ),
    "delayed": (
        "Moje zamówienie jeszcze nie dotarło",
        "Zamówienia wysyłamy w ciągu 1 dnia roboczego, a dostawa trwa od 2 do 5 dni roboczych. Aktualny status sprawdzisz w linku do śledzenia w mailu o wysyłce. Jeśli status nie zmienia się od 5 dni, napisz do nas.",
    ),
    "return_request": (
        "Jak zwrócić produkt?",
        "Każdy produkt można zwrócić w ciągu 30 dni. Otwórz Zamówienia, wybierz produkt i kliknij Zwróć. Wyślemy mailem opłaconą etykietę; zapakuj produkt w oryginalne pudełko i nadaj go na poczcie.",
    ),
    "refund_status": (
        "Kiedy dostanę zwrot pieniędzy?",
        "Zwrot zlecamy w ciągu 2 dni roboczych od otrzymania przesyłki. Bank potrzebuje potem od 3 do 7 dni roboczych, aby środki pojawiły się na koncie. Wyślemy maila, gdy tylko zwrot zostanie zlecony.",
    ),
    "exchange": (
        "Czy mogę wymienić produkt?",
        "Tak. Rozpocznij zwrot w zakładce Zamówienia i wybierz Wymiana zamiast Zwrot pieniędzy. Wybierz nowy rozmiar, kolor lub model; różnicę w cenie doliczymy lub zwrócimy.",
    ),
    "pricing": (
        "Jakie plany oferujecie?",
        "Plan Free obejmuje jednego użytkownika i podstawowe funkcje. Pro dodaje nieograniczone projekty i integracje. Business dodaje panel administratora, logowanie SSO i priorytetowe wsparcie. Płatność roczna to 15% oszczędności.",
    ),
    "two_factor": (
        "Jak skonfigurować weryfikację dwuetapową na nowym telefonie?",
        "Jeśli masz stary telefon, otwórz Ustawienia > Bezpieczeństwo > Weryfikacja dwuetapowa i przenieś aplikację na nowe urządzenie. Jeśli telefon zginął, zaloguj się kodem zapasowym lub skontaktuj się z pomocą techniczną.",
    ),
}

BOOK = PhraseBook(
    language="pl",
    subjects=SUBJECTS,
    problems=PROBLEMS,
    answers=ANSWERS,
    articles=ARTICLES,
    openers=("Dzień dobry,", "Witam,", "Szanowni Państwo,", "Cześć,", "Dzień dobry Państwu,"),
    followups=(
        "Piszę ponownie w sprawie zgłoszenia {ticket}.",
        "Chodzi o moje poprzednie zgłoszenie {ticket}, problem nadal nie jest rozwiązany.",
        "Zgłaszałem to już w {ticket} i od tego czasu nic się nie zmieniło.",
        "Wracam do {ticket}: problem znowu się pojawił.",
    ),
    context={
        "order": (
            "Numer zamówienia: {order}.",
            "Zamówiłem {product} {date}.",
            "Dostawa do {city}.",
        ),
        "account": (
            "Mój adres e-mail konta to {email}.",
            "Mam plan {plan}.",
            "Używamy {product} w zespole 12 osób.",
        ),
        "device": (
            "Korzystam z {product} w wersji {version} na {device}.",
            "Dzieje się to na {device} i w {browser}.",
            "Próbowałem już restartu i ponownej instalacji.",
        ),
        "billing": (
            "Mój adres e-mail konta to {email}.",
            "Mam plan {plan} z płatnością miesięczną.",
            "Numer faktury: {invoice}.",
        ),
        "general": (
            "Korzystamy z {product} w planie {plan}.",
            "Jestem Waszym klientem od dwóch lat.",
            "Nasz zespół liczy około 15 osób.",
        ),
    },
    also=("I jeszcze jedno:", "Przy okazji mam pytanie:", "Inna sprawa:"),
    urgent=(
        "To pilne, cały nasz zespół nie może pracować.",
        "Proszę potraktować to priorytetowo, tracimy pieniądze z każdą godziną.",
        "PILNE, muszę to mieć naprawione dzisiaj.",
    ),
    high=(
        "Proszę o pomoc jak najszybciej.",
        "To blokuje moją pracę, będę wdzięczny za szybką odpowiedź.",
        "Muszę to szybko załatwić.",
    ),
    anger=(
        "To jest niedopuszczalne.",
        "Jestem naprawdę zirytowany, piszę do Was już trzeci raz.",
        "Wasza obsługa ostatnio jest fatalna, zastanawiam się nad rezygnacją.",
        "Jeśli to nie zostanie naprawione, zażądam zwrotu pieniędzy.",
    ),
    closings=("Dziękuję,", "Z góry dziękuję,", "Pozdrawiam,", "Z poważaniem,"),
    vague=(
        ("Pomocy", "pomocy, nic nie działa"),
        ("Problem", "Coś jest nie tak z moim kontem, proszę sprawdzić."),
        ("Nie działa", "Znowu przestało działać. Co mam zrobić?"),
        ("Pytanie", "Dzień dobry, mam pytanie, czy ktoś może zadzwonić?"),
    ),
    urgent_prefix="PILNE: ",
    reply_prefixes=("Re: ", "Odp: "),
    agent_greetings=("Dzień dobry, {name},", "Witam, {name},"),
    agent_signoffs=(
        "Pozdrawiam serdecznie,\n{agent}",
        "Z poważaniem,\n{agent}\nDział obsługi klienta",
    ),
    clarify="Dziękujemy za wiadomość. Czy może Pan/Pani opisać problem dokładniej: którego produktu dotyczy, co już zostało sprawdzone i jaki komunikat błędu się pojawia? Wtedy od razu pomożemy.",
    first_names=(
        "Anna",
        "Piotr",
        "Katarzyna",
        "Tomasz",
        "Magdalena",
        "Paweł",
        "Agnieszka",
        "Krzysztof",
        "Joanna",
        "Michał",
        "Ewa",
        "Marcin",
    ),
    email_domain="example.pl",
    cities=("Warszawy", "Krakowa", "Gdańska", "Wrocławia", "Poznania"),
    money=lambda amount: f"{amount * 4:,.2f} zł".replace(",", " ").replace(".", ","),
    day=lambda d: f"{d.day} {_MONTHS[d.month - 1]}",
)
