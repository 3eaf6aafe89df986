"""German → English words for lab names whose English form is spelled too differently for
fuzzy matching: allergen sources (pollen, mites, animals, foods, venoms), infectious agents
with German names and general lab words (gesamt → total, Nachweis → presence).

Hand-written general knowledge, not derived from any evaluation or gold-map data. Keys are
folded tokens (mappings.normalize.fold: lower case, ä → ae, ß → ss); values are the words
LOINC uses, lower case, space-separated.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    # -- pollen: trees -----------------------------------------------------------------------
    "birke": "birch", "erle": "alder", "hasel": "hazel", "esche": "ash", "eiche": "oak",
    "buche": "beech", "pappel": "poplar", "weide": "willow", "platane": "sycamore",
    "linde": "linden", "ulme": "elm", "ahorn": "maple", "kiefer": "pine", "fichte": "spruce",
    "zypresse": "cypress", "zeder": "cedar", "olivenbaum": "olive", "oelbaum": "olive",
    "akazie": "acacia", "walnussbaum": "walnut",
    "rosskastanie": "chestnut horse", "robinie": "locust black", "liguster": "privet",
    # -- pollen: grasses and cereals -----------------------------------------------------------
    "lieschgras": "timothy", "wiesenlieschgras": "timothy", "roggen": "rye",
    "knaeuelgras": "orchard grass", "wiesenrispengras": "kentucky blue grass",
    "rispengras": "blue grass", "weidelgras": "rye grass perennial", "lolch": "rye grass",
    "honiggras": "velvet grass", "ruchgras": "vernal grass sweet", "schilf": "reed common",
    "hundszahngras": "bermuda grass", "wiesenschwingel": "meadow fescue",
    "schwingel": "fescue", "trespe": "brome", "quecke": "couch grass", "hafer": "oat",
    "weizen": "wheat", "gerste": "barley", "mais": "corn", "reis": "rice",
    "hirse": "millet", "dinkel": "spelt", "buchweizen": "buckwheat", "graeser": "grass",
    "gras": "grass", "graeserpollen": "grass pollen", "getreide": "cereal grain",
    # -- pollen: weeds ---------------------------------------------------------------------------
    "beifuss": "mugwort", "ambrosia": "ragweed", "traubenkraut": "ragweed",
    "spitzwegerich": "plantain english", "wegerich": "plantain", "gaensefuss": "goosefoot",
    "brennnessel": "nettle", "brennessel": "nettle", "glaskraut": "wall pellitory",
    "loewenzahn": "dandelion", "goldrute": "goldenrod", "raps": "rape", "melde": "saltbush",
    "sauerampfer": "sorrel", "margerite": "daisy", "kamille": "chamomile",
    "sonnenblume": "sunflower", "baumpollen": "tree pollen",
    "kraeuter": "weed", "unkraut": "weed",
    # -- mites, insects, venoms ------------------------------------------------------------------
    "hausstaubmilbe": "dermatophagoides pteronyssinus house dust mite", "milbe": "mite",
    "milben": "mite", "hausstaub": "house dust", "mehlmilbe": "acarus siro",
    "vorratsmilbe": "storage mite", "biene": "honey bee", "bienengift": "honey bee venom",
    "honigbiene": "honey bee", "wespe": "wasp", "wespengift": "wasp venom yellow jacket",
    "feldwespe": "paper wasp", "hornisse": "hornet", "hornissengift": "hornet venom",
    "muecke": "mosquito", "schabe": "cockroach",
    "kakerlake": "cockroach", "floh": "flea", "gift": "venom", "insektengift": "venom",
    # -- animals ---------------------------------------------------------------------------------
    "katze": "cat", "katzen": "cat", "katzenepithelien": "cat dander",
    "katzenschuppen": "cat dander", "hund": "dog", "hunde": "dog",
    "hundeepithelien": "dog dander", "hundeschuppen": "dog dander", "pferd": "horse",
    "pferdeepithelien": "horse dander", "pferdeschuppen": "horse dander", "rind": "cow",
    "rinderepithelien": "cow dander", "meerschweinchen": "guinea pig", "kaninchen": "rabbit",
    "maus": "mouse", "ratte": "rat", "wellensittich": "budgerigar",
    "federn": "feather", "feder": "feather", "ziege": "goat", "schaf": "sheep",
    "schwein": "pig", "huhn": "chicken", "gans": "goose", "ente": "duck",
    "epithelien": "dander epithelium", "schuppen": "dander", "tierhaare": "animal hair",
    # -- moulds and yeasts ------------------------------------------------------------------------
    "schimmelpilz": "mold", "schimmelpilze": "mold", "schimmel": "mold", "hefe": "yeast",
    "hefen": "yeast", "backhefe": "baker's yeast", "pilz": "fungus", "pilze": "fungi",
    # -- foods -------------------------------------------------------------------------------------
    "huehnerei": "egg", "huehnereiweiss": "egg white", "eiklar": "egg white",
    "eiweiss": "protein", "eigelb": "egg yolk", "eidotter": "egg yolk",
    "vollei": "egg whole", "kuhmilch": "cow milk", "milch": "milk", "ziegenmilch": "goat milk",
    "schafmilch": "sheep milk", "kaese": "cheese", "erdnuss": "peanut",
    "haselnuss": "hazelnut", "walnuss": "walnut", "paranuss": "brazil nut",
    "mandel": "almond", "cashewnuss": "cashew", "pistazie": "pistachio", "pekannuss": "pecan",
    "macadamianuss": "macadamia", "kokosnuss": "coconut", "sesam": "sesame", "soja": "soybean",
    "sojabohne": "soybean", "weizenmehl": "wheat", "roggenmehl": "rye",
    "sellerie": "celery", "karotte": "carrot", "moehre": "carrot", "kartoffel": "potato",
    "tomate": "tomato", "erbse": "pea", "linse": "lentil", "bohne": "bean",
    "gruene": "green", "lupine": "lupin", "senf": "mustard",
    "knoblauch": "garlic", "zwiebel": "onion", "petersilie": "parsley",
    "apfel": "apple", "birne": "pear", "pfirsich": "peach", "aprikose": "apricot",
    "marille": "apricot", "kirsche": "cherry", "pflaume": "plum", "banane": "banana",
    "erdbeere": "strawberry", "himbeere": "raspberry",
    "zitrone": "lemon", "traube": "grape", "weintraube": "grape", "melone": "melon",
    "ananas": "pineapple", "fisch": "fish",
    "kabeljau": "codfish", "dorsch": "codfish", "lachs": "salmon", "thunfisch": "tuna",
    "forelle": "trout", "hering": "herring", "makrele": "mackerel",
    "garnele": "shrimp", "garnelen": "shrimp", "krabbe": "crab", "hummer": "lobster",
    "languste": "lobster", "muschel": "mussel", "miesmuschel": "blue mussel",
    "auster": "oyster", "tintenfisch": "squid",
    "rindfleisch": "beef", "schweinefleisch": "pork", "huehnerfleisch": "chicken meat",
    "putenfleisch": "turkey meat", "lammfleisch": "lamb", "fleisch": "meat",
    "kakao": "cocoa", "schokolade": "chocolate", "kaffee": "coffee", "tee": "tea",
    "hopfen": "hop", "honig": "honey", "gelatine": "gelatin", "kasein": "casein",
    "nuesse": "nut", "nuss": "nut", "obst": "fruit", "gemuese": "vegetable",
    # -- occupational and drugs --------------------------------------------------------------------
    "naturlatex": "latex", "formaldehyd": "formaldehyde",
    "isocyanat": "isocyanate", "chlorhexidin": "chlorhexidine",
    # -- infectious agents with German names -------------------------------------------------------
    "masern": "measles virus", "roeteln": "rubella virus", "windpocken": "varicella zoster",
    "varizellen": "varicella zoster", "guertelrose": "varicella zoster",
    "keuchhusten": "bordetella pertussis", "diphtherie": "corynebacterium diphtheriae",
    "wundstarrkrampf": "clostridium tetani", "tetanus": "clostridium tetani",
    "fsme": "tick borne encephalitis virus", "borrelien": "borrelia burgdorferi",
    "grippe": "influenza", "tollwut": "rabies virus", "gelbfieber": "yellow fever virus",
    "kinderlaehmung": "poliovirus", "lues": "treponema pallidum",
    "syphilis": "treponema pallidum", "tuberkulose": "mycobacterium tuberculosis",
    "streptokokken": "streptococcus", "staphylokokken": "staphylococcus",
    "pneumokokken": "streptococcus pneumoniae", "meningokokken": "neisseria meningitidis",
    "gonokokken": "neisseria gonorrhoeae", "enterokokken": "enterococcus",
    "chlamydien": "chlamydia", "mykoplasmen": "mycoplasma", "toxoplasmen": "toxoplasma gondii",
    "zytomegalie": "cytomegalovirus", "ringelroeteln": "parvovirus b19",
    "wuermer": "helminth", "wurmeier": "ova", "spulwurm": "ascaris", "bandwurm": "taenia",
    "madenwurm": "enterobius vermicularis", "hundebandwurm": "echinococcus granulosus",
    "fuchsbandwurm": "echinococcus", "amoeben": "entamoeba",
    "lamblien": "giardia lamblia", "keime": "bacteria", "bakterien": "bacteria",
    "erreger": "organism", "resistenz": "resistance", "empfindlichkeit": "susceptibility",
    "kultur": "culture", "keimzahl": "colony count", "koloniezahl": "colony count",
    # -- general lab words -------------------------------------------------------------------------
    "gesamt": "total", "frei": "free", "freies": "free", "freie": "free", "gebunden": "bound",
    "nachweis": "presence", "harnstoff": "urea", "blutzucker": "glucose", "zucker": "glucose",
    "fett": "fat", "fette": "lipid", "gallensaeuren": "bile acid", "gallensaeure": "bile acid",
    "eisen": "iron", "kupfer": "copper", "zink": "zinc", "blei": "lead",
    "quecksilber": "mercury", "selen": "selenium", "jod": "iodine", "saeure": "acid",
    "bikarbonat": "bicarbonate", "hydrogencarbonat": "bicarbonate", "aktivitaet": "activity",
    "gerinnungsfaktor": "coagulation factor", "zellen": "cells",
    "zellkerne": "nuclear", "kern": "nuclear", "mitochondrien": "mitochondria",
    "muskulatur": "muscle", "schilddruese": "thyroid", "nebenniere": "adrenal",
    "bauchspeicheldruese": "pancreas", "magen": "stomach gastric", "darm": "intestinal",
    "leber": "liver", "niere": "kidney", "herz": "heart", "haut": "skin",
    "inselzellen": "islet cell", "belegzellen": "parietal cell", "farbe": "color",
    "geruch": "odor", "truebung": "clarity", "aussehen": "appearance",
    "dichte": "specific gravity", "menge": "volume", "kristalle": "crystals",
    "zylinder": "casts", "schleim": "mucus", "plattenepithelien": "squamous epithelial cells",
    "rundepithelien": "renal epithelial cells", "segmentkernige": "segmented neutrophils",
    "riesenthrombozyten": "giant platelets", "fragmentozyten": "schistocytes",
    "kugelzellen": "spherocytes", "sphaerozyten": "spherocytes", "targetzellen": "target cells",
    "normoblasten": "nucleated erythrocytes", "polychromasie": "polychromasia",
    "anisozytose": "anisocytosis", "poikilozytose": "poikilocytosis",
    "verschlusszeit": "closure time",
    "rhesusfaktor": "rh", "antikoerpersuchtest": "antibody screen",
    "haemolyse": "hemolysis", "blutungszeit": "bleeding time", "schwangerschaft": "pregnancy",
    "zwischenwert": "intermediate", "kontrolle": "control", "stimulationstest": "challenge",
    "belastung": "challenge", "suchtest": "screen",
}


def glossary_words(token: str) -> tuple[str, ...]:
    """English words for a folded German token (also tried without a plural or case ending
    -n, -en, -e, -s, -er); () when the glossary has none."""
    found = GLOSSARY.get(token)
    if found is None and len(token) > 4:
        for ending in ("en", "er", "n", "e", "s"):
            if token.endswith(ending) and token[:-len(ending)] in GLOSSARY:
                found = GLOSSARY[token[:-len(ending)]]
                break
    return tuple(found.split()) if found else ()
