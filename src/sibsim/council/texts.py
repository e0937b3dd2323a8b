"""Every string of the council report, one table per language, for translators to review.

:data:`TEXTS` maps a language (``fi``, ``sv``, ``en``) to a dict of the same keys; placeholders
in braces (``{year}``) are filled by :mod:`sibsim.council.report` with numbers already formatted
for the language. :data:`OUTCOME_WORDS` names the outcome units of the built-in scenarios in
each language (a unit not listed is shown by its name from the scenario file).
"""

from __future__ import annotations

__all__ = ["OUTCOME_WORDS", "PERIOD_WORDS", "STATE_WORDS", "TEXTS"]

TEXTS: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Tulosperusteinen sopimus (SIB): riskiarvio valtuustolle",
        "generated": "Laadittu {date} sibsim-ohjelmalla ({draws} simulointikierrosta, "
                     "siemenluku {seed}). Rahamäärät: {currency}.",
        "summary": "Yhteenveto",
        "summary_lead": "Tulosperusteisessa sopimuksessa (SIB) sijoittajat rahoittavat "
                        "palvelun etukäteen, ja kunta maksaa heille tulosperusteisen maksun "
                        "vain, jos arviointi osoittaa sovitun vaikutuksen. Luvut ovat "
                        "tuhansien simuloitujen vaihtoehtoisten kulkujen tuloksia: mikään "
                        "niistä ei ole ennuste yhdestä varmasta lopputuloksesta.",
        "pays_h": "Mitä kunta maksaa vuosittain",
        "pays_text": "Tulosperusteisia maksuja kertyy vuosina {years} yhteensä keskimäärin "
                     "{mean}; yhdeksässä tapauksessa kymmenestä enintään {p90}. Jotta "
                     "määräraha riittää {conf} varmuudella, talousarvioon kannattaa varata "
                     "taulukon sarakkeen ”Varattava määräraha” summa. Suurin vuotuinen "
                     "varaus on {peak}.",
        "col_year": "Vuosi",
        "col_mean": "Maksut, keskiarvo",
        "col_median": "Maksut, mediaani",
        "col_p90": "Maksut, 90. persentiili",
        "col_approp": "Varattava määräraha ({conf})",
        "col_cash": "Säästöt, keskiarvo",
        "col_net": "Nettosäästö, keskiarvo",
        "total": "Yhteensä",
        "table_note": "Maksut ovat bruttomääriä ennen säästöjä. Nettosäästö = säästöt − "
                      "maksut − kunnan omat kulut. Sarakkeita ei voi laskea yhteen "
                      "vuosien yli persentiileinä: yhteissumman 90. persentiili on {p90}.",
        "late_last": "Osa arvioinnin tuloksista valmistuu vasta vuoden {end} jälkeen, kun "
                     "laskelman ajanjakso on jo päättynyt. Niiden maksut näkyvät taulukossa "
                     "vuonna {end}, vaikka ne erääntyvät myöhemmin, eikä vuoden {end} jälkeisiä "
                     "säästöjä ole laskettu mukaan.",
        "late_drop": "Osa arvioinnin tuloksista valmistuu vasta vuoden {end} jälkeen, kun "
                     "laskelman ajanjakso on jo päättynyt. Niiden maksuja ei ole laskettu "
                     "mukaan, eikä myöskään vuoden {end} jälkeisiä säästöjä.",
        "saves_h": "Mitä kunta säästää",
        "saves_text": "Kunnan talousarviossa näkyvät säästöt (esimerkiksi vähentyneet "
                      "palvelukustannukset) ovat keskimäärin {cash}. Kun maksut ja kunnan omat "
                      "kulut vähennetään, nettosäästö on keskimäärin {net}; nykyarvona "
                      "{npv} ({rate} diskonttokorolla).",
        "chance_h": "Maksaako kunta enemmän kuin säästää?",
        "chance_text": "Todennäköisyys, että kunta maksaa enemmän kuin säästää: {p}. "
                       "{reading}",
        "reading_low": "Riski on pieni: näin käy harvemmin kuin yhdessä tapauksessa "
                       "kymmenestä.",
        "reading_mid": "Riski on merkittävä: näin käy noin {k} tapauksessa kymmenestä.",
        "reading_high": "Riski on suuri: näin käy useammin kuin joka toisessa tapauksessa.",
        "payers_h": "Maksajat",
        "col_payer": "Maksaja",
        "col_pays": "Maksaa, keskiarvo",
        "col_saves": "Säästää, keskiarvo",
        "col_p_net_loss": "Maksaa enemmän kuin säästää",
        "investors_h": "Mitä sijoittajat saavat",
        "investors_text": "Sijoittajat sijoittavat tyypillisesti {invested}. {per_unit} "
                          "he saavat keskimäärin takaisin {back} {unit}. Vuotuisen tuoton "
                          "mediaani on {irr} (90 %:n vaihteluväli "
                          "{irr_lo} … {irr_hi}); sijoittajat tavoittelevat {target}. "
                          "Todennäköisyys, että sijoittajat menettävät osan pääomastaan: "
                          "{p_loss}.",
        "breakeven_h": "Kuinka hyvin palvelun on toimittava?",
        "breakeven_text": "Jotta kunnan säästöt kattavat maksut, palvelun on {effect} "
                          "verrattuna tilanteeseen ilman palvelua (mediaani). Se tarkoittaa "
                          "koko sopimuskaudella yhteensä vähintään {n} {unit} vähemmän.",
        "breakeven_no_effect": "Kunnan säästöt kattavat maksut jo silloin, kun palvelulla ei ole "
                               "vaikutusta lainkaan (mediaani).",
        "breakeven_none": "Kunnan säästöt eivät kata maksuja edes vahvimmalla tutkitulla "
                          "vaikutuksella {share} tapauksista.",
        "breakeven_partial": "Osassa tapauksista ({share}) säästöt eivät kata maksuja "
                             "vahvimmallakaan tutkitulla vaikutuksella.",
        "breakeven_outcome": "Laskelmassa muutetaan vain sitä, kuinka paljon palvelu vähentää "
                             "tai lisää {what}; palvelun muut vaikutukset pidetään oletusten "
                             "mukaisina.",
        "effect_reduce": "vähennettävä {what} vähintään {pct}",
        "effect_increase": "lisättävä {what} vähintään {pct}",
        "effect_absolute": "muutettava {what} vähintään {x}",
        "effect_prior": "Oletus palvelun vaikutuksesta: keskimäärin {mean} "
                        "(90 %:n vaihteluväli {lo} … {hi}).",
        "fig_budget_h": "Vuotuiset maksut",
        "fig_budget_alt": "Tulosperusteiset maksut vuosittain: mediaani, vaihteluvälit ja "
                          "varattava määräraha.",
        "fig_chance_alt": "Todennäköisyys, että kunta maksaa enemmän kuin säästää.",
        "fig_investors_alt": "Sijoittajien takaisin saama rahamäärä suhteessa sijoitukseen.",
        "ax_year": "Vuosi",
        "ax_payments": "Maksut, {unit}",
        "legend_median": "Mediaani",
        "legend_50": "50 % tapauksista",
        "legend_90": "90 % tapauksista",
        "legend_approp": "Varattava määräraha ({conf})",
        "chance_title": "Kunta maksaa enemmän kuin säästää",
        "chance_pays_more": "Maksaa enemmän",
        "chance_saves": "Säästää vähintään saman",
        "ax_back_per_euro": "Takaisin saatu rahamäärä suhteessa sijoitukseen",
        "ax_share": "Osuus tapauksista",
        "legend_loss": "Tappio: {p} tapauksista",
        "legend_break_even": "Sijoitus takaisin (1,0)",
        "assumptions": "Oletukset ja lähteet",
        "assumptions_lead": "Laskelma perustuu seuraaviin lukuihin. Lähde-sarake kertoo, "
                            "mistä luku on peräisin; ”oletus” tarkoittaa mallintajan arviota, "
                            "jota kannattaa tarkistaa.",
        "col_item": "Oletus",
        "col_figure": "Tunnusluku",
        "col_value": "Arvo",
        "col_source": "Lähde",
        "assumption_word": "oletus",
        "no_source": "–",
        "a_scenario": "Hanke",
        "a_years": "Sopimuskausi",
        "a_cohort": "Osallistujia yhteensä",
        "a_baseline": "Lähtötaso ilman palvelua",
        "a_baseline_move": "Lähtötaso ilman palvelua: siirtymä tilasta ”{a}” tilaan ”{b}”",
        "a_effect": "Palvelun vaikutus (oletus)",
        "a_historical": "Historiallinen vertailutaso osallistujaa kohden ({metric})",
        "a_bias": "Vertailuryhmän harha ({metric})",
        "a_wave": "{metric}, {n}. kohortti",
        "a_price": "Hinta tulosyksiköltä ({metric})",
        "all_metrics": "kaikki mittarit",
        "all_payers": "kaikki maksajat",
        "a_cap": "Maksujen enimmäismäärä yhteensä",
        "a_capital": "Sijoittajien pääoma ({name})",
        "a_target": "Sijoittajien tavoitetuotto ({name})",
        "a_saving_event": "Säästö vältettyä tapahtumaa kohden ({payer})",
        "a_saving_state": "Säästö vuotta kohden tilassa ”{state}” ({payer})",
        "a_saving_money_effect": "Osuus yksikköarvon noususta saatavasta lisärahasta, "
                                 "{metric} ({payer})",
        "a_service_cost": "Palvelun kustannus osallistujaa kohden",
        "a_social_rate": "Kunnan diskonttokorko",
        "a_investor_rate": "Sijoittajien diskonttokorko",
        "per_year": "{x} vuodessa",
        "per_quarter": "{x} neljännesvuodessa",
        "per_month": "{x} kuukaudessa",
        "method": "Menetelmä",
        "method_mc": "Luvut on laskettu Monte Carlo -simuloinnilla: malli käy läpi {draws} "
                     "vaihtoehtoista kulkua (siemenluku {seed}; sama siemenluku tuottaa samat "
                     "tulokset). Jokaisessa kulussa arvotaan epävarmat tekijät: osallistujien "
                     "lähtötaso, palvelun todellinen vaikutus ja sattuma yksittäisten "
                     "ihmisten kohdalla. Kulun tuloksista lasketaan arvioinnin mittaama "
                     "vaikutus, sopimuksen mukaiset maksut, sijoittajien rahavirrat ja kunnan "
                     "säästöt.",
        "method_comparison": "Myös arvioinnin vertailukohta on epävarma: se, kuinka paljon "
                             "vertailutaso voi poiketa todellisesta, arvotaan jokaisessa kulussa "
                             "(katso oletustaulukko).",
        "method_uncertain": "Todennäköisyydet kertovat, kuinka suuressa osassa kulkuja jokin "
                            "tapahtuu. Ne ovat yhtä luotettavia kuin oletukset: jos vaikutus "
                            "tai hinnat arvioidaan väärin, myös todennäköisyydet ovat vääriä. "
                            "Katso oletustaulukko.",
        "method_limits": "Malli ei kata kaikkea: siinä ei ole sopimusriitoja, palveluntuottajan "
                         "konkurssia, lainsäädännön muutoksia eikä hyötyjä, joita ei ole "
                         "kirjattu säästöiksi. Säästöt ovat kunnan talousarviossa näkyviä "
                         "säästöjä; laajempi yhteiskunnallinen hyöty on raportoitu erikseen "
                         "analyysin tulostiedostossa.",
        "method_breakeven": "Kannattavuusraja on laskettu jokaiselle kululle erikseen pitämällä "
                            "sattuma samana ja muuttamalla vain palvelun todellista "
                            "vaikutusta. Vältettyjen tapahtumien määrä on odotusarvo "
                            "mediaanirajalla verrattuna tilanteeseen ilman palvelua.",
        "method_years": "Vuodet ovat kalenterivuosia: sopimuskausi alkaa vuonna {start}.",
        "glossary_h": "Sanasto",
        "glossary": "Mediaani: puolet tapauksista on alle ja puolet yli. 90. persentiili: "
                    "yhdeksässä tapauksessa kymmenestä luku on tätä pienempi. Nykyarvo: "
                    "tulevat rahamäärät muutettuna tämän päivän rahaksi diskonttokorolla.",
    },
    "sv": {
        "title": "Resultatbaserat avtal (SIB): riskbedömning för fullmäktige",
        "generated": "Upprättad {date} med sibsim ({draws} simuleringar, slumptal "
                     "{seed}). Belopp i {currency}.",
        "summary": "Sammanfattning",
        "summary_lead": "I ett resultatbaserat avtal (SIB) finansierar investerare tjänsten "
                        "i förväg, och kommunen betalar en resultatbaserad ersättning bara om "
                        "utvärderingen visar den överenskomna effekten. Siffrorna bygger på "
                        "tusentals simulerade förlopp: ingen av dem är en prognos av ett "
                        "enda säkert utfall.",
        "pays_h": "Vad kommunen betalar varje år",
        "pays_text": "De resultatbaserade ersättningarna för åren {years} uppgår i "
                     "genomsnitt till {mean}; i nio fall av tio högst {p90}. För att anslaget "
                     "ska räcka med {conf} säkerhet bör kommunen budgetera beloppet i kolumnen "
                     "”Anslag att reservera”. Det största årliga anslaget är {peak}.",
        "col_year": "År",
        "col_mean": "Ersättningar, medelvärde",
        "col_median": "Ersättningar, median",
        "col_p90": "Ersättningar, 90:e percentil",
        "col_approp": "Anslag att reservera ({conf})",
        "col_cash": "Besparingar, medelvärde",
        "col_net": "Nettobesparing, medelvärde",
        "total": "Totalt",
        "table_note": "Ersättningarna är bruttobelopp före besparingar. Nettobesparing = "
                      "besparingar − ersättningar − kommunens egna kostnader. Percentilerna kan "
                      "inte summeras över åren: totalbeloppets 90:e percentil är {p90}.",
        "late_last": "En del av utvärderingens resultat blir klara först efter {end}, när "
                     "beräkningens period redan har tagit slut. Deras ersättningar visas i "
                     "tabellen under {end}, fast de förfaller senare, och besparingar efter "
                     "{end} räknas inte med.",
        "late_drop": "En del av utvärderingens resultat blir klara först efter {end}, när "
                     "beräkningens period redan har tagit slut. Deras ersättningar ingår inte, "
                     "och inte heller besparingar efter {end}.",
        "saves_h": "Vad kommunen sparar",
        "saves_text": "De besparingar som syns i kommunens budget (till exempel lägre "
                      "kostnader för tjänster) uppgår i genomsnitt till {cash}. Efter "
                      "ersättningarna och kommunens egna kostnader är nettobesparingen i "
                      "genomsnitt {net}; i nuvärde {npv} (diskonteringsränta {rate}).",
        "chance_h": "Betalar kommunen mer än den sparar?",
        "chance_text": "Sannolikheten att kommunen betalar mer än den sparar: {p}. {reading}",
        "reading_low": "Risken är liten: det händer i färre än ett fall av tio.",
        "reading_mid": "Risken är betydande: det händer i ungefär {k} fall av tio.",
        "reading_high": "Risken är stor: det händer i mer än vartannat fall.",
        "payers_h": "Betalare",
        "col_payer": "Betalare",
        "col_pays": "Betalar, medelvärde",
        "col_saves": "Sparar, medelvärde",
        "col_p_net_loss": "Betalar mer än den sparar",
        "investors_h": "Vad investerarna får",
        "investors_text": "Investerarna satsar typiskt {invested}. {per_unit} "
                          "får de i genomsnitt tillbaka {back} {unit}. Medianavkastningen är "
                          "{irr} per år (90 % av fallen mellan {irr_lo} och {irr_hi}); "
                          "investerarnas mål är {target}. Sannolikheten att investerarna "
                          "förlorar en del av sitt kapital: {p_loss}.",
        "breakeven_h": "Hur bra måste tjänsten vara?",
        "breakeven_text": "För att kommunens besparingar ska täcka ersättningarna måste "
                          "tjänsten {effect} jämfört med en situation utan tjänsten (median). "
                          "Det motsvarar under hela avtalsperioden sammanlagt minst {n} "
                          "{unit} färre.",
        "breakeven_no_effect": "Kommunens besparingar täcker ersättningarna redan när tjänsten "
                               "inte har någon effekt alls (median).",
        "breakeven_none": "Kommunens besparingar täcker inte ersättningarna ens med den "
                          "starkaste effekt som prövats i {share} av fallen.",
        "breakeven_partial": "I en del av fallen ({share}) täcker besparingarna inte "
                             "ersättningarna ens med den starkaste effekt som prövats.",
        "breakeven_outcome": "Beräkningen ändrar bara hur mycket tjänsten minskar eller ökar "
                             "{what}; tjänstens övriga effekter hålls som antaget.",
        "effect_reduce": "minska {what} med minst {pct}",
        "effect_increase": "öka {what} med minst {pct}",
        "effect_absolute": "ändra {what} med minst {x}",
        "effect_prior": "Antagande om tjänstens effekt: i genomsnitt {mean} "
                        "(90 % av fallen mellan {lo} och {hi}).",
        "fig_budget_h": "Årliga ersättningar",
        "fig_budget_alt": "Resultatbaserade ersättningar per år: median, variationsintervall "
                          "och anslag att reservera.",
        "fig_chance_alt": "Sannolikheten att kommunen betalar mer än den sparar.",
        "fig_investors_alt": "Belopp som investerarna får tillbaka i förhållande till insatsen.",
        "ax_year": "År",
        "ax_payments": "Ersättningar, {unit}",
        "legend_median": "Median",
        "legend_50": "50 % av fallen",
        "legend_90": "90 % av fallen",
        "legend_approp": "Anslag att reservera ({conf})",
        "chance_title": "Kommunen betalar mer än den sparar",
        "chance_pays_more": "Betalar mer",
        "chance_saves": "Sparar minst lika mycket",
        "ax_back_per_euro": "Belopp tillbaka i förhållande till insatsen",
        "ax_share": "Andel av fallen",
        "legend_loss": "Förlust: {p} av fallen",
        "legend_break_even": "Insatsen tillbaka (1,0)",
        "assumptions": "Antaganden och källor",
        "assumptions_lead": "Beräkningen bygger på följande siffror. Kolumnen Källa anger "
                            "varifrån siffran kommer; ”antagande” betyder en bedömning av den "
                            "som gjort modellen och bör kontrolleras.",
        "col_item": "Antagande",
        "col_figure": "Nyckeltal",
        "col_value": "Värde",
        "col_source": "Källa",
        "assumption_word": "antagande",
        "no_source": "–",
        "a_scenario": "Projekt",
        "a_years": "Avtalsperiod",
        "a_cohort": "Deltagare sammanlagt",
        "a_baseline": "Utgångsnivå utan tjänsten",
        "a_baseline_move": "Utgångsnivå utan tjänsten: övergång från ”{a}” till ”{b}”",
        "a_effect": "Tjänstens effekt (antagande)",
        "a_historical": "Historisk jämförelsenivå per deltagare ({metric})",
        "a_bias": "Jämförelsegruppens systematiska fel ({metric})",
        "a_wave": "{metric}, kohort {n}",
        "a_price": "Pris per resultatenhet ({metric})",
        "all_metrics": "alla mått",
        "all_payers": "alla betalare",
        "a_cap": "Tak för ersättningarna sammanlagt",
        "a_capital": "Investerarnas kapital ({name})",
        "a_target": "Investerarnas målavkastning ({name})",
        "a_saving_event": "Besparing per undviken händelse ({payer})",
        "a_saving_state": "Besparing per år i tillståndet ”{state}” ({payer})",
        "a_saving_money_effect": "Andel av extrapengarna från det högre värdet per enhet, "
                                 "{metric} ({payer})",
        "a_service_cost": "Tjänstens kostnad per deltagare",
        "a_social_rate": "Kommunens diskonteringsränta",
        "a_investor_rate": "Investerarnas diskonteringsränta",
        "per_year": "{x} per år",
        "per_quarter": "{x} per kvartal",
        "per_month": "{x} per månad",
        "method": "Metod",
        "method_mc": "Siffrorna har beräknats med Monte Carlo-simulering: modellen går "
                     "igenom {draws} alternativa förlopp (slumptal {seed}; samma slumptal ger "
                     "samma resultat). I varje förlopp lottas de osäkra faktorerna: "
                     "deltagarnas utgångsnivå, tjänstens verkliga effekt och slumpen för "
                     "enskilda personer. Av förloppet beräknas den effekt som utvärderingen "
                     "mäter, ersättningarna enligt avtalet, investerarnas penningflöden och "
                     "kommunens besparingar.",
        "method_comparison": "Även utvärderingens jämförelse är osäker: hur mycket "
                             "jämförelsenivån kan avvika från den verkliga lottas i varje "
                             "förlopp (se tabellen över antaganden).",
        "method_uncertain": "Sannolikheterna anger i hur stor del av förloppen något händer. "
                            "De är lika tillförlitliga som antagandena: om effekten eller "
                            "priserna bedöms fel blir också sannolikheterna fel. Se tabellen "
                            "över antaganden.",
        "method_limits": "Modellen täcker inte allt: den omfattar inte avtalstvister, att "
                         "tjänsteleverantören går i konkurs, ändrad lagstiftning eller nyttor "
                         "som inte har bokförts som besparingar. Besparingarna är de som syns i "
                         "kommunens budget; den bredare samhällsnyttan redovisas separat i "
                         "analysens resultatfil.",
        "method_breakeven": "Brytpunkten har beräknats separat för varje förlopp: slumpen "
                            "hålls oförändrad och bara tjänstens verkliga effekt varieras. "
                            "Antalet undvikna händelser är väntevärdet vid medianbrytpunkten "
                            "jämfört med en situation utan tjänsten.",
        "method_years": "Åren är kalenderår: avtalsperioden börjar år {start}.",
        "glossary_h": "Ordlista",
        "glossary": "Median: hälften av fallen ligger under och hälften över. 90:e percentil: "
                    "i nio fall av tio är värdet lägre än detta. Nuvärde: framtida belopp "
                    "omräknade till dagens pengar med en diskonteringsränta.",
    },
    "en": {
        "title": "Outcomes-based contract (SIB): risk assessment for the council",
        "generated": "Prepared on {date} with sibsim ({draws} simulated runs, seed {seed}). "
                     "Amounts in {currency}.",
        "summary": "Summary",
        "summary_lead": "In a social impact bond (SIB), investors fund a service up front and "
                        "the municipality pays them an outcome payment only if the evaluation "
                        "shows the agreed effect. The figures come from thousands of simulated "
                        "runs: none of them is a forecast of one certain result.",
        "pays_h": "What the municipality pays each year",
        "pays_text": "Outcome payments over {years} total {mean} on average, and at most {p90} "
                     "in nine cases out of ten. For the appropriation to suffice with {conf} "
                     "confidence, budget the amount in the column “Appropriation to reserve”. "
                     "The largest yearly appropriation is {peak}.",
        "col_year": "Year",
        "col_mean": "Payments, mean",
        "col_median": "Payments, median",
        "col_p90": "Payments, 90th percentile",
        "col_approp": "Appropriation to reserve ({conf})",
        "col_cash": "Savings, mean",
        "col_net": "Net savings, mean",
        "total": "Total",
        "table_note": "Payments are gross, before savings. Net savings = savings − payments − "
                      "the municipality's own costs. Percentiles do not add up over years: "
                      "the 90th percentile of the total is {p90}.",
        "late_last": "Some results of the evaluation are known only after {end}, when the "
                     "period of the calculation has ended. Their payments are shown in {end}, "
                     "although they fall due later, and savings after {end} are not counted.",
        "late_drop": "Some results of the evaluation are known only after {end}, when the "
                     "period of the calculation has ended. Their payments are not included, "
                     "and neither are savings after {end}.",
        "saves_h": "What the municipality saves",
        "saves_text": "Savings that show in the municipality's budget (for example lower "
                      "service costs) are {cash} on average. After the payments and the "
                      "municipality's own costs, net savings are {net} on average; {npv} in "
                      "present value (discount rate {rate}).",
        "chance_h": "Does the municipality pay more than it saves?",
        "chance_text": "The chance that the municipality pays more than it saves: {p}. "
                       "{reading}",
        "reading_low": "The risk is small: it happens in fewer than one case in ten.",
        "reading_mid": "The risk is substantial: it happens in about {k} cases in ten.",
        "reading_high": "The risk is high: it happens in more than one case in two.",
        "payers_h": "Payers",
        "col_payer": "Payer",
        "col_pays": "Pays, mean",
        "col_saves": "Saves, mean",
        "col_p_net_loss": "Pays more than it saves",
        "investors_h": "What investors get",
        "investors_text": "Investors typically put in {invested}. {per_unit} they "
                          "get back {back} {unit} on average. Their median return is {irr} a year "
                          "(90% of cases between {irr_lo} and {irr_hi}); they aim for "
                          "{target}. The chance that investors lose part of their capital: "
                          "{p_loss}.",
        "breakeven_h": "How well must the service work?",
        "breakeven_text": "For the municipality's savings to cover the payments, the service "
                          "must {effect} compared with no service (median). Over the whole "
                          "contract that means at least {n} fewer {unit} in total.",
        "breakeven_no_effect": "The municipality's savings cover the payments even if the "
                               "service has no effect at all (median).",
        "breakeven_none": "The municipality's savings do not cover the payments even at the "
                          "strongest effect examined in {share} of cases.",
        "breakeven_partial": "In some cases ({share}) the savings do not cover the payments "
                             "even at the strongest effect examined.",
        "breakeven_outcome": "The calculation changes only how much the service reduces or "
                             "increases {what}; its other effects are kept as assumed.",
        "effect_reduce": "reduce {what} by at least {pct}",
        "effect_increase": "increase {what} by at least {pct}",
        "effect_absolute": "change {what} by at least {x}",
        "effect_prior": "Assumed effect of the service: {mean} on average (90% of cases "
                        "between {lo} and {hi}).",
        "fig_budget_h": "Yearly payments",
        "fig_budget_alt": "Outcome payments per year: median, ranges and the appropriation "
                          "to reserve.",
        "fig_chance_alt": "The chance that the municipality pays more than it saves.",
        "fig_investors_alt": "Money investors get back relative to the money they invested.",
        "ax_year": "Year",
        "ax_payments": "Payments, {unit}",
        "legend_median": "Median",
        "legend_50": "50% of cases",
        "legend_90": "90% of cases",
        "legend_approp": "Appropriation to reserve ({conf})",
        "chance_title": "The municipality pays more than it saves",
        "chance_pays_more": "Pays more",
        "chance_saves": "Saves at least as much",
        "ax_back_per_euro": "Money back relative to money invested",
        "ax_share": "Share of cases",
        "legend_loss": "Loss: {p} of cases",
        "legend_break_even": "Money back (1.0)",
        "assumptions": "Assumptions and sources",
        "assumptions_lead": "The calculation rests on the figures below. The Source column "
                            "says where a figure comes from; “assumption” marks the modeller's "
                            "estimate, which is worth checking.",
        "col_item": "Assumption",
        "col_figure": "Key figure",
        "col_value": "Value",
        "col_source": "Source",
        "assumption_word": "assumption",
        "no_source": "–",
        "a_scenario": "Project",
        "a_years": "Contract period",
        "a_cohort": "Participants in total",
        "a_baseline": "Baseline without the service",
        "a_baseline_move": "Baseline without the service: moving from “{a}” to “{b}”",
        "a_effect": "Effect of the service (assumed)",
        "a_historical": "Historical comparison level per participant ({metric})",
        "a_bias": "Bias of the comparison group ({metric})",
        "a_wave": "{metric}, cohort {n}",
        "a_price": "Price per outcome unit ({metric})",
        "all_metrics": "every metric",
        "all_payers": "every payer",
        "a_cap": "Cap on total payments",
        "a_capital": "Investors' capital ({name})",
        "a_target": "Investors' target return ({name})",
        "a_saving_event": "Saving per event avoided ({payer})",
        "a_saving_state": "Saving per year in state “{state}” ({payer})",
        "a_saving_money_effect": "Share of the extra money from the higher value per unit, "
                                 "{metric} ({payer})",
        "a_service_cost": "Service cost per participant",
        "a_social_rate": "Municipality's discount rate",
        "a_investor_rate": "Investors' discount rate",
        "per_year": "{x} a year",
        "per_quarter": "{x} a quarter",
        "per_month": "{x} a month",
        "method": "Method",
        "method_mc": "The figures come from Monte Carlo simulation: the model runs through "
                     "{draws} possible courses of events (seed {seed}; the same seed gives the "
                     "same results). Each run draws the uncertain quantities: the "
                     "participants' baseline, the service's true effect and chance at the "
                     "level of individual people. From each run follow the effect the "
                     "evaluation measures, the payments under the contract, the investors' "
                     "cash flows and the municipality's savings.",
        "method_comparison": "The evaluation's yardstick is uncertain too: how far its "
                             "comparison level may be from the true one is drawn in each run "
                             "(see the table of assumptions).",
        "method_uncertain": "A probability is the share of runs in which something happens. "
                            "It is only as reliable as the assumptions: if the effect or the "
                            "prices are misjudged, so are the probabilities. See the table of "
                            "assumptions.",
        "method_limits": "The model does not cover everything: contract disputes, the "
                         "provider's insolvency, changes in legislation and benefits not "
                         "counted as savings are outside it. Savings are those that show in "
                         "the municipality's budget; the wider public value is reported "
                         "separately in the analysis results file.",
        "method_breakeven": "The break-even point is computed for each run separately, keeping "
                            "chance fixed and changing only the service's true effect. The "
                            "number of events avoided is the expected number at the median "
                            "break-even effect, against no service.",
        "method_years": "Years are calendar years: the contract starts in {start}.",
        "glossary_h": "Glossary",
        "glossary": "Median: half of the cases are below and half above. 90th percentile: in "
                    "nine cases out of ten the figure is lower than this. Present value: "
                    "future sums turned into today's money with a discount rate.",
    },
}

#: Outcome events of the built-in scenarios: (plural noun) per language; fi in the partitive
#: (as after a numeral: "12 uusintarikosta").
OUTCOME_WORDS: dict[str, dict[str, str]] = {
    "reconviction event": {"fi": "uusintarikosta", "sv": "återfall i brott",
                           "en": "reconvictions"},
    "jail day": {"fi": "vankilapäivää", "sv": "dagar i fängelse", "en": "days in jail"},
    "jail_days": {"fi": "vankilapäivää", "sv": "dagar i fängelse", "en": "days in jail"},
    "NEET year": {"fi": "vuotta koulutuksen ja työn ulkopuolella",
                  "sv": "år utanför utbildning och arbete",
                  "en": "years not in education, employment or training"},
    "sick-leave day": {"fi": "sairauspoissaolopäivää", "sv": "sjukfrånvarodagar",
                       "en": "sick-leave days"},
    "month without work": {"fi": "työttömyyskuukautta", "sv": "månader utan arbete",
                           "en": "months without work"},
    "special-education year": {"fi": "erityisopetusvuotta", "sv": "år i specialundervisning",
                               "en": "years in special education"},
    "placement": {"fi": "sijoitusta", "sv": "placeringar", "en": "placements"},
    "entry to care": {"fi": "sijoitusta", "sv": "placeringar", "en": "entries to care"},
    "incarceration": {"fi": "vankeutta", "sv": "fängelsestraff", "en": "incarcerations"},
    "job start": {"fi": "työllistymistä", "sv": "anställningar", "en": "job starts"},
    "housing": {"fi": "asumisen aloitusta", "sv": "bostäder", "en": "moves into housing"},
    "entry to special education": {"fi": "erityisopetukseen siirtymistä",
                                   "sv": "övergångar till specialundervisning",
                                   "en": "entries to special education"},
}

#: The same outcomes as the object of "reduce ...": fi in the partitive plural.
OUTCOME_OBJECT: dict[str, dict[str, str]] = {
    "reconviction event": {"fi": "uusintarikoksia", "sv": "återfallen i brott",
                           "en": "reconvictions"},
    "jail day": {"fi": "vankilapäiviä", "sv": "dagarna i fängelse", "en": "days in jail"},
    "jail_days": {"fi": "vankilapäiviä", "sv": "dagarna i fängelse", "en": "days in jail"},
    "NEET year": {"fi": "koulutuksen ja työn ulkopuolella vietettyjä vuosia",
                  "sv": "åren utanför utbildning och arbete",
                  "en": "years not in education, employment or training"},
    "sick-leave day": {"fi": "sairauspoissaoloja", "sv": "sjukfrånvaron",
                       "en": "sick-leave days"},
    "month without work": {"fi": "työttömyyskuukausia", "sv": "månaderna utan arbete",
                           "en": "months without work"},
    "special-education year": {"fi": "erityisopetusvuosia", "sv": "åren i specialundervisning",
                               "en": "years in special education"},
    "placement": {"fi": "sijoituksia", "sv": "placeringarna", "en": "placements in care"},
    "entry to care": {"fi": "sijoituksia", "sv": "placeringarna", "en": "entries to care"},
    "incarceration": {"fi": "vankeusrangaistuksia", "sv": "fängelsestraffen",
                      "en": "incarcerations"},
    "job start": {"fi": "työllistymisiä", "sv": "anställningarna", "en": "job starts"},
    "housing": {"fi": "asunnon saamista", "sv": "bostadsövergångarna",
                "en": "moves into housing"},
    "entry to special education": {"fi": "erityisopetukseen siirtymisiä",
                                   "sv": "övergångarna till specialundervisning",
                                   "en": "entries to special education"},
}

#: States whose person-years the savings value: "years {state}" per language.
STATE_WORDS: dict[str, dict[str, str]] = {
    "care": {"fi": "sijoitettuna", "sv": "i vård utom hemmet", "en": "in care"},
    "custody": {"fi": "vankilassa", "sv": "i fängelse", "en": "in custody"},
    "special": {"fi": "erityisopetuksessa", "sv": "i specialundervisning",
                "en": "in special education"},
    # chicago-cpc's joint states: in special education and ready, or reading at grade level
    "ready_special": {"fi": "erityisopetuksessa", "sv": "i specialundervisning",
                      "en": "in special education"},
    "literate_special": {"fi": "erityisopetuksessa", "sv": "i specialundervisning",
                         "en": "in special education"},
    "training": {"fi": "koulutuksessa", "sv": "i utbildning", "en": "in training"},
    "jobseeking": {"fi": "työnhakijana", "sv": "som arbetssökande", "en": "job seeking"},
    "street": {"fi": "asunnottomana", "sv": "som bostadslös", "en": "homeless"},
}

#: "or" and the unit "years" (after a numeral; fi partitive) per language.
PERIOD_WORDS: dict[str, dict[str, str]] = {
    "years": {"fi": "vuotta", "sv": "år", "en": "years"},
    "or": {"fi": "tai", "sv": "eller", "en": "or"},
    "events_of": {"fi": "tapahtumaa ({name})", "sv": "händelser ({name})",
                  "en": "{name} events"},
    "object_of": {"fi": "tapahtumia ({name})", "sv": "händelserna ({name})",
                  "en": "{name} events"},
}


#: How the investors' sentence names the currency: (the phrase "for each unit invested", the
#: unit after an amount), by language and currency; other currencies use the last entry.
CURRENCY_WORDS = {
    "fi": {"EUR": ("Jokaista sijoitettua euroa kohden", "euroa"),
           "GBP": ("Jokaista sijoitettua puntaa kohden", "puntaa"),
           "USD": ("Jokaista sijoitettua dollaria kohden", "dollaria"),
           "*": ("Jokaista sijoitettua rahayksikköä kohden", "rahayksikköä")},
    "sv": {"EUR": ("För varje investerad euro", "euro"),
           "GBP": ("För varje investerat pund", "pund"),
           "USD": ("För varje investerad dollar", "dollar"),
           "*": ("För varje investerad valutaenhet", "valutaenheter")},
    "en": {"EUR": ("For each euro invested", "euros"),
           "GBP": ("For each pound invested", "pounds"),
           "USD": ("For each dollar invested", "dollars"),
           "*": ("For each unit of currency invested", "units")},
}


def currency_words(lang: str, currency: str) -> tuple[str, str]:
    """(phrase for "for each unit invested", unit after an amount) in ``lang``.

    >>> currency_words("fi", "GBP")
    ('Jokaista sijoitettua puntaa kohden', 'puntaa')
    """
    table = CURRENCY_WORDS[lang]
    return table.get(currency, table["*"])
