"""Realistic registration lists (households and members) with known duplicates, for deduplication.

Why: the deduplication of registration lists (issue 5) must be measured against a ground truth, and
real registration data cannot be shipped. This generator builds a fictional displaced population
("Zedland") and registers it the way partners do, several times over, with the errors registrations
really carry. It is deterministic for a seed (one :class:`numpy.random.Generator`), needs no network,
and is vectorised with numpy: a million records take about 15 s (the loops left are per typo
and per formatted string).

Population (the truth)
    Households of 1-12 people (mean about 5.8). The head is a man in about 72 % of households;
    a spouse (about 85 % of male heads), children, and sometimes a parent, sibling or other relative
    of the head. Names follow the Arabic/Sudanese/Somali/Afghan/Hausa pattern *first name, father's
    name, family name*: children's ``father_name`` is the head's first name (or, for a female head,
    the absent husband's), the head's father's first name is the head's ``father_name``, the head's
    siblings share the head's ``father_name``; members share the family name (a spouse, a mother or
    an "other" relative often keep their own) and often the head's phone. Names are drawn from a few
    hundred first and family names with Zipf-like frequencies (Mohammed, Ahmed, Fatima, Amina ... are
    very common), so different people collide on names, and siblings on two of three names; about
    3 % of children are twins of the previous child (same date of birth, often a similar name:
    Hassan/Hussein, Fatima/Zahra). Every person has a true date of birth; the *base* record of a
    person (their first registration) writes it in full, as a year only (``YYYY-01-01`` with
    ``dob_estimated``; about 25 % of adults, 8 % of children) or not at all (4 %); the ID number is
    known for about 60 % of adults and 3 % of children; a few base records lack sex (1 %) or the
    family name (2 %). Each name has its Latin transliteration variants (Mohammed/Muhammad/Mohamed/
    Mohamad/Mohammad ...), an Arabic-script form (محمد) and, for some, nicknames (Hamada, Mo).
    Spellings are household-consistent: a household's family name, and the children's father name
    (= the head's first name), are spelt the same way within a registration. Partners write names in
    Arabic script in a share of their registrations (one partner in a quarter of them).

Registrations (what the export shows)
    Every household is registered once; ``duplicate_share`` of households a second time, and 15 % of
    those a third time: by another partner (70 %) or the same one in a later round, 0-3 days later
    (15 %, two partners at the same distribution) or two weeks to 15 months later. The repeat gets a
    new ``household_ref`` (each partner numbers its own registrations), its own date, sometimes a new
    site (20 %; about half of those in another area), sometimes a newborn (10 %, a new person born between
    the registrations), sometimes a member left out (12 % of households of three or more; the
    declared ``household_size`` then still counts them half of the time), and in 4 % head and spouse
    swap roles. ``age`` is computed at each registration date, so it may change by one naturally.

Errors (per duplicate record, counted in ``truth.errors``)
    A *duplicate record* is any record of a person after their first one; it is derived from the
    person's base record, never from the other duplicate. It carries ``k`` errors, each in a different
    *slot*, drawn without replacement with the slot weights of :data:`SLOT_WEIGHTS` among the
    applicable slots, and within the slot a type with the weights of :data:`ERROR_TYPES` among the
    applicable types:

    ``script`` all names written in the other script (Arabic <-> Latin);
    ``first_name`` ``typo`` (insert/delete/substitute/transpose one character) | ``translit``
    (another Latin variant) | ``nickname``; ``father_name`` ``typo`` | ``translit``;
    ``family_name`` ``typo`` | ``translit`` | ``dropped`` | ``swapped`` (with ``father_name``);
    ``dob`` ``swap_day_month`` (day <= 12 and day != month) | ``missing`` | ``year_only``;
    ``age`` ``off_by_one`` (never back to the base record's age); ``phone`` ``changed`` (new number) |
    ``missing`` | ``format`` (same number written another way); ``id_number`` ``missing`` |
    ``digit`` (one digit changed); ``sex`` ``missing``.

    Every applied error changes the written record (a translit picks another spelling, a typo is
    retried until the string differs ...). With ``hardest=True`` every duplicate record carries
    ``k`` uniform in ``errors[0]..errors[1]``; otherwise 35 % of duplicate records are clean copies
    and the rest carry ``k`` in that range with weights halving at each step (1: 53 %, 2: 27 % ...).
    ``k`` is capped by the applicable slots (four slots always apply, so this binds only for
    ``k >= 5`` in records missing most fields).

Phones are Sudanese-style mobiles (country code +249, nine digits starting 9x or 1x), written as
``0912345678``, ``0912 345 678``, ``+249912345678``, ``+249 91 234 5678``, ``249912345678``,
``912345678`` or ``00249912345678`` (each partner has a habit). ID numbers are 11 digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_AREAS: tuple[str, ...] = ("ZD0101", "ZD0102", "ZD0103", "ZD0201", "ZD0202", "ZD0203",
                                  "ZD0204", "ZD0205")

RECORD_COLUMNS = ["record_id", "household_ref", "organisation", "registration_date", "site_id",
                  "area_pcode", "relationship", "first_name", "father_name", "family_name", "sex",
                  "date_of_birth", "dob_estimated", "age", "phone", "id_number", "household_size"]
RELATIONSHIPS = np.array(["head", "spouse", "son", "daughter", "father", "mother", "brother", "sister",
                          "other"], dtype=object)
HEAD, SPOUSE, SON, DAUGHTER, FATHER, MOTHER, BROTHER, SISTER, OTHER = range(9)

# name, weight, share of registrations in Arabic script, preferred phone format, ref style
ORGANISATIONS = [("Zedland Red Crescent", 0.35, 0.25, 0, "ZRCS"),
                 ("Hope Relief", 0.30, 0.03, 3, "HR"),
                 ("Nile Aid", 0.20, 0.03, 1, "NA"),
                 ("CareBridge", 0.15, 0.03, 2, "CB")]

HOUSEHOLD_SIZE_P = np.array([0.05, 0.07, 0.09, 0.12, 0.14, 0.14, 0.12, 0.10, 0.07, 0.05, 0.03, 0.02])
P_THIRD = 0.15  # a duplicated household is registered a third time
P_MOVED, P_NEWBORN, P_LEFT_OUT, P_ROLE_SWAP, P_SAME_ORG = 0.20, 0.10, 0.12, 0.04, 0.30
P_CLEAN = 0.35  # duplicate records without error when hardest=False
PHONE_CC = "249"

SLOTS = ["script", "first_name", "father_name", "family_name", "dob", "age", "phone", "id_number",
         "sex"]
SLOT_WEIGHTS = np.array([0.6, 2.0, 1.5, 1.5, 1.5, 1.0, 1.5, 0.8, 0.5])
ERROR_TYPES: dict[str, list[tuple[str, float]]] = {
    "script": [("flip", 1.0)],
    "first_name": [("typo", 0.45), ("translit", 0.35), ("nickname", 0.20)],
    "father_name": [("typo", 0.5), ("translit", 0.5)],
    "family_name": [("typo", 0.35), ("translit", 0.30), ("dropped", 0.15), ("swapped", 0.20)],
    "dob": [("swap_day_month", 0.4), ("missing", 0.3), ("year_only", 0.3)],
    "age": [("off_by_one", 1.0)],
    "phone": [("changed", 0.4), ("missing", 0.25), ("format", 0.35)],
    "id_number": [("missing", 0.6), ("digit", 0.4)],
    "sex": [("missing", 1.0)],
}

# ---------------------------------------------------------------------------------------------------
# Names: "Latin variants | Arabic script | nicknames", most common first (weights are Zipf-like by
# rank, the first few boosted). Variants of one name are distinct; nicknames are not among them.
MALE_NAMES = """\
Mohammed/Muhammad/Mohamed/Mohamad/Mohammad|محمد|Hamada/Mo/Hamoudi
Ahmed/Ahmad/Ahmet/Axmed|أحمد|Hamdi
Ali/Aly/Alee/Cali|علي|
Omar/Umar/Omer/Cumar|عمر|
Abdullah/Abdallah/Abdulla/Abdullahi/Cabdullahi|عبدالله|Abdalla/Abdi
Ibrahim/Ebrahim/Ibraheem/Ibrahem|إبراهيم|Ibro
Hassan/Hasan/Hasen/Xasan|حسن|
Hussein/Husain/Hussain/Hussen/Xuseen|حسين|
Abdulrahman/Abdel Rahman/Abd al-Rahman/Abdirahman/Abdurrahman|عبدالرحمن|Abdo/Rahman
Osman/Othman/Uthman/Usman/Cismaan|عثمان|
Yusuf/Youssef/Yousif/Yousef/Yusif|يوسف|
Adam/Adem/Aadam|آدم|
Ismail/Ismael/Ismaciil/Ismaeel|إسماعيل|
Idris/Idriss/Edris|إدريس|
Musa/Moussa/Mousa/Muuse|موسى|
Issa/Isa/Eissa/Ciise|عيسى|
Suleiman/Sulayman/Suleyman/Sulaiman/Suleman|سليمان|Sule
Khalid/Khaled/Khaalid|خالد|
Abdelaziz/Abdul Aziz/Abd al-Aziz/Abdiaziz|عبدالعزيز|Aziz
Abubakar/Abu Bakr/Abubakr/Abubaker/Abuubakar|أبوبكر|Bakar
Yahya/Yehia/Yahia|يحيى|
Mustafa/Mostafa/Moustafa/Mustapha|مصطفى|
Mahmoud/Mahmud/Mahmood/Maxamuud|محمود|
Salih/Saleh/Saalax|صالح|
Jamal/Gamal/Jamaal|جمال|
Tahir/Taher/Daahir|طاهر|
Bashir/Basheer/Bashiir/Bashiru|بشير|
Nasir/Nasser/Naser/Nassir|ناصر|
Hamid/Hamed/Haamid|حامد|
Hamza/Hamzah/Hamsa|حمزة|
Kamal/Kamaal/Kemal|كمال|
Faisal/Faysal/Feisal|فيصل|
Anwar/Anouar/Anwer|أنور|
Abdelkarim/Abdul Karim/Abd al-Karim/Abdikarim|عبدالكريم|Karim
Abdelrahim/Abdul Rahim/Abdirahim|عبدالرحيم|
Abdelgadir/Abdel Gadir/Abdulkadir/Abdulqadir/Abdikadir|عبدالقادر|Gadir
Abdelmoneim/Abdul Moneim/Abdel Monem|عبدالمنعم|
Abdelwahab/Abdul Wahab/Abdiwahab|عبدالوهاب|
Abdelhamid/Abdul Hamid/Abdihamid|عبدالحميد|
Abdelmajid/Abdul Majid/Abdimajid|عبدالمجيد|
Siddig/Siddiq/Sidiq/Seddik|صديق|
Nour/Nur/Noor/Nuur|نور|
Babiker/Babikir/Babakir|بابكر|
Awad/Awadh/Cawad|عوض|
Amin/Amiin/Ameen|أمين|
Hashim/Hashem/Haashim|هاشم|
Tijani/Tijjani/Tidjani|تجاني|
Haroun/Harun/Haroon/Haruna|هارون|
Yaqub/Yacoub/Yagoub/Yakubu/Yacquub|يعقوب|
Tariq/Tarek/Tareq|طارق|
Walid/Waleed/Oualid|وليد|
Saeed/Said/Saiid/Sacid|سعيد|
Fadul/Fadl/Fadol|فضل|
Ishag/Ishaq/Isaac/Isak|إسحاق|
Adil/Adel/Aadil|عادل|
Mansour/Mansur/Mansoor|منصور|
Marwan/Marwaan|مروان|
Majid/Majed/Maajid|ماجد|
Nabil/Nabeel/Nabiil|نبيل|
Qasim/Gasim/Kassim/Kasim/Qaasim|قاسم|
Rashid/Rasheed/Rachid|رشيد|
Sami/Samy/Saami|سامي|
Sharif/Shareef/Cherif|شريف|
Tayeb/Tayib/Al-Tayeb|الطيب|
Zakaria/Zakariya/Zakariyya/Sakariye|زكريا|Zako
Ziyad/Ziad/Zeyad|زياد|
Bilal/Belal/Bilaal|بلال|
Hamdan/Hamdaan/Hamdane|حمدان|
Hamad/Hammad/Xamad|حمد|
Jibril/Jibreel/Gibril/Jabril|جبريل|
Mubarak/Mobarak/Mubaarak|مبارك|
Abbas/Abass/Cabbaas|عباس|
Daoud/Dawud/Dawood/Daud/Dauda|داود|
Ayoub/Ayub/Ayoob/Ayuub|أيوب|
Younis/Yunus/Yonis/Younes|يونس|
Nuh/Nouh/Nuux|نوح|
Salim/Saleem/Selim|سليم|
Elfatih/Al-Fatih/Elfateh|الفاتح|Fatih
Elsadig/Al-Sadiq/Elsadiq|الصادق|
Elhadi/Al-Hadi/Alhadi|الهادي|
Haider/Haidar/Hayder|حيدر|
Jafar/Jaafar/Gaafar/Jaffar|جعفر|
Murtada/Mortada/Murtaza|مرتضى|
Ramadan/Ramadhan/Ramazan|رمضان|
Rajab/Ragab/Rajjab|رجب|
Shaban/Shaaban/Chaabane|شعبان|
Khamis/Khamees/Khamiis|خميس|
Juma/Jumaa/Jumah/Gumaa|جمعة|
Imran/Emran/Omran|عمران|
Anas/Enes/Anass|أنس|
Mohanad/Muhannad/Mohannad|مهند|
Motasim/Mutasim/Mootasim|معتصم|
Mujahid/Mogahid/Mujaahid|مجاهد|
Abdelbagi/Abdul Baqi/Abdelbaqi|عبدالباقي|
Abdelsalam/Abdul Salam/Abdisalam/Abdussalam|عبدالسلام|
Abdelghani/Abdul Ghani/Abdighani|عبدالغني|
Abdelrazig/Abdul Razzaq/Abdirizak/Abdelrazik|عبدالرازق|
Abdelwahid/Abdul Wahid/Abdiwahid|عبدالواحد|
Abdelbasit/Abdul Basit/Abdibasit|عبدالباسط|
Abdeljalil/Abdul Jalil/Abdijalil|عبدالجليل|
Elsir/Al-Sir/Alsir|السر|
Gul/Gull|گل|
Wali/Wally/Walee|ولي|
Nasrullah/Nasrallah/Nasrulla|نصرالله|
Zabihullah/Zabiullah/Zabihulla|ذبيح‌الله|Zabi
Hayatullah/Hayatulla/Hayatallah|حیات‌الله|
Rahmatullah/Rahmatulla/Rahmatallah|رحمت‌الله|
Habibullah/Habibulla/Habiballah|حبیب‌الله|
Khan/Kan|خان|
Mirwais/Mirwaiz/Mir Wais|میرویس|
Sayed/Sayyid/Seyed/Sayid|سيد|
Noorullah/Nurullah/Nourallah|نورالله|
Shafiq/Shafeeq/Chafik|شفيق|
Jawad/Javad/Jawaad|جواد|
Farid/Fareed/Fariid|فريد|
Karim/Kareem/Kariim|كريم|
Najibullah/Najibulla/Najeebullah|نجیب‌الله|
Samiullah/Samiulla/Sameeullah|سمیع‌الله|
Ghulam/Gholam/Golam|غلام|
Sher/Shir/Sheer|شیر|
Jan/Jaan|جان|
Aziz/Azeez/Aziiz|عزيز|
Asadullah/Asadulla/Assadullah|اسدالله|
Hamidullah/Hamidulla/Hameedullah|حمیدالله|
Rafiq/Rafik/Rafeeq|رفيق|
Masoud/Massoud/Masud/Masood|مسعود|
Nasim/Naseem/Nassim|نسيم|
Zahir/Zaheer/Dhahir|ظاهر|
Wahid/Waheed/Wahiid|وحيد|
Ehsan/Ihsan/Ahsan|إحسان|
Fuad/Fouad/Fawad/Fawaad|فؤاد|
Javed/Jawed/Javid|جاوید|
Abdi/Cabdi/Abdy|عبدي|
Farah/Faarax/Farrah|فارح|
Abdirashid/Abdul Rashid/Abdelrashid|عبدالرشيد|
Guled/Guuleed/Guleed|غوليد|
Jama/Jaamac/Jamac|جامع|
Aliyu/Aliu/Aliyou|عليو|
Umaru/Umaro/Oumarou|عمرو|
Kabiru/Kabir/Kabeer|كبير|
Sadiq/Sadik/Saddiq|صادق|
Auwal/Awwal/Auwalu|أول|
Habib/Habibu/Habeeb|حبيب|
Lawal/Lawali/Lawan|لوال|
Sani/Saani/Sanni|ساني|
Bello/Belo/Bellou|بلو|
Garba/Garuba/Garbah|غاربا|
Bala/Balla/Baala|بالا|
"""

FEMALE_NAMES = """\
Fatima/Fatimah/Fatuma/Faatima/Fadumo|فاطمة|Fatma/Tuma/Fatoum
Amina/Aminah/Ameena/Amiina/Aminatu|أمينة|Mina
Aisha/Aicha/Ayesha/Aysha/Aishatu/Caasha|عائشة|Isha
Khadija/Khadeeja/Kadija/Khadijah/Hadiza/Xadiija|خديجة|Dija
Maryam/Mariam/Mariem/Maryan/Maryamu|مريم|
Zainab/Zeinab/Zaynab/Seynab|زينب|Zizi
Halima/Haleema/Halimah/Xaliimo|حليمة|
Hawa/Hawwa/Hauwa/Xaawo|حواء|
Sara/Sarah/Saara|سارة|
Mona/Muna/Mouna|منى|
Huda/Hoda/Houda|هدى|
Nura/Noura/Nora|نورة|
Salma/Selma/Salmah|سلمى|
Samira/Sameera/Samirah|سميرة|
Rahma/Rahmah/Raxma|رحمة|
Rukia/Ruqayya/Rukiya/Ruqaya/Roqaya|رقية|
Safiya/Safia/Safiyya/Saafiya|صفية|
Sumaya/Sumaiya/Somaya/Sumayyah|سمية|
Hanan/Hanaan/Hanane|حنان|
Hana/Hanaa/Hanah|هناء|
Iman/Eman/Imaan|إيمان|
Asma/Asmaa/Asmah|أسماء|
Layla/Leila/Laila/Leyla|ليلى|
Nawal/Nawaal/Nawel|نوال|
Najat/Nagat/Najaat|نجاة|
Ikhlas/Ekhlas/Ikhlaas|إخلاص|
Igbal/Iqbal/Ekbal|إقبال|
Awatif/Awatef/Awaatif|عواطف|
Nafisa/Nafeesa/Nefisa|نفيسة|
Suad/Soad/Souad|سعاد|
Sakina/Sakeena/Sakinah|سكينة|
Zahra/Zahraa/Zohra/Sahra/Saxra|زهراء|
Amna/Aamna/Amnah|آمنة|
Habiba/Habeeba/Xabiiba|حبيبة|
Hajar/Hagar/Haajar|هاجر|
Kaltoum/Kulthum/Kalthoum/Kaltuma|كلثوم|
Nasra/Nasrah/Nasro|نصرة|
Hafsa/Hafsat/Hafsah/Xafsa|حفصة|
Rabia/Rabiatu/Rabiaa/Rabi|رابعة|
Jamila/Jameela/Jamilah|جميلة|
Saada/Saadatu/Sacaada|سعادة|
Bilkisu/Balqis/Bilqis/Belqees|بلقيس|
Binta/Bintu/Bintou|بنتا|
Rasha/Racha/Rashaa|رشا|
Reem/Rim/Riim|ريم|
Dalia/Daliya/Dahlia|داليا|
Maha/Mahaa/Mahah|مها|
Nada/Nadaa/Neda|ندى|
Samah/Samaah/Sammah|سماح|
Wafa/Wafaa/Wafae|وفاء|
Afaf/Afaaf/Efaf|عفاف|
Sana/Sanaa/Sanae|سناء|
Nadia/Nadya/Nadiya|نادية|
Ibtisam/Ebtisam/Ibtessam|ابتسام|
Intisar/Entisar/Intissar|انتصار|
Manal/Manaal/Manel|منال|
Ilham/Elham/Ilhaam|إلهام|
Amal/Amaal/Emel|أمل|
Tahani/Tehani/Tahaani|تهاني|
Zakia/Zakiya/Zakiyya|زكية|
Fawzia/Fawziya/Fauzia|فوزية|
Naima/Naeema/Naiima|نعيمة|
Karima/Kareema/Kariima|كريمة|
Latifa/Lateefa/Latiifa|لطيفة|
Sabah/Sabaah/Sabbah|صباح|
Hamida/Hameeda/Xamiida|حميدة|
Khalida/Khaleda/Khaalida|خالدة|
Majda/Magda/Majida|ماجدة|
Najwa/Nagwa/Nadjwa|نجوى|
Sitana/Sittana/Setana|ستنا|
Ashwaq/Ashwag/Achouak|أشواق|
Tasneem/Tasnim/Tesnim|تسنيم|
Shaima/Shaymaa/Shaimaa|شيماء|
Israa/Isra/Esraa|إسراء|
Alaa/Ala/Alaa'|آلاء|
Doaa/Duaa/Dua|دعاء|
Marwa/Marwah/Maroua|مروة|
Rania/Raniya/Raneea|رانيا|
Rawan/Rawaan/Rewan|روان|
Hiba/Heba/Hibah|هبة|
Soraya/Suraya/Thuraya|ثريا|
Zarghuna/Zarghona/Zarghoona|زرغونه|
Gulalai/Gulalay/Gulali|گلالی|
Nazia/Naziya/Naazia|نازیه|
Farzana/Farzaneh/Farzaana|فرزانه|
Shabnam/Shabnum/Chabnam|شبنم|
Malalai/Malalay/Malaly|ملالی|
Parwana/Parvana/Parwaana|پروانه|
Nasrin/Nasreen/Nesrine|نسرين|
Mahbooba/Mahbuba/Mahbouba|محبوبه|
Fariba/Fareeba/Fariiba|فریبا|
Roya/Rouya/Ruya|رویا|
Zahida/Zaheeda/Zaahida|زاهده|
Wahida/Waheeda/Ouahida|وحيدة|
Fereshta/Freshta/Fereshteh|فرشته|
Marzia/Marziya/Marziyeh|مرضیه|
Shakila/Shakeela/Chakila|شکیلا|
Sabira/Sabera/Saabira|صابرة|
Bibi/Beebee/Bibie|بی‌بی|
Ladi/Laadi/Ladee|لادي|
Larai/Laraba/Larayi|لاراي|
"""

FAMILY_NAMES = """\
Mohamed/Mohammed/Muhammad/Mohamud|محمد
Ahmed/Ahmad/Axmed|أحمد
Ali/Aly/Cali|علي
Adam/Aadam/Adem|آدم
Osman/Othman/Usman/Cismaan|عثمان
Ibrahim/Ebrahim/Ibraheem|إبراهيم
Hassan/Hasan/Xasan|حسن
Abdalla/Abdullah/Abdallah/Abdullahi|عبدالله
Yousif/Yusuf/Youssef|يوسف
Elhassan/Al-Hassan/Alhassan|الحسن
Elamin/Al-Amin/Alamin|الأمين
Elsayed/Al-Sayed/Alsayed/El Sayed|السيد
Elsheikh/Al-Sheikh/Alshaikh|الشيخ
Elmahdi/Al-Mahdi/Almahdi|المهدي
Elbashir/Al-Bashir/Albashir|البشير
Eltayeb/Al-Tayeb/Altayib|الطيب
Elnour/Al-Nour/Alnur|النور
Elfaki/Al-Faki/Elfeky|الفكي
Elzubair/Al-Zubair/Zubeir|الزبير
Mirghani/Al-Mirghani/Elmirghani|الميرغني
Babiker/Babikir/Babakir|بابكر
Khalil/Khaleel/Xaliil|خليل
Ismail/Ismael/Ismaciil|إسماعيل
Idris/Idriss/Edris|إدريس
Musa/Moussa/Muuse|موسى
Yagoub/Yaqub/Yacoub|يعقوب
Haroun/Harun/Haroon|هارون
Suleiman/Sulayman/Sulaiman|سليمان
Abdelrahman/Abdulrahman/Abdel Rahman|عبدالرحمن
Abakar/Abbaker/Abaker|أبكر
Ishag/Ishaq/Isaac|إسحاق
Hamid/Hamed/Haamid|حامد
Bakheet/Bakhit/Bakhiet|بخيت
Juma/Jumaa/Gumaa|جمعة
Khamis/Khamees/Khamiis|خميس
Fadul/Fadl/Fadol|فضل
Hamdan/Hamdaan/Hamdane|حمدان
Taha/Taaha/Tahaa|طه
Salih/Saleh/Saalax|صالح
Awad/Awadh/Cawad|عوض
Omer/Omar/Umar|عمر
Mahmoud/Mahmud/Mahmood|محمود
Mustafa/Mostafa/Moustafa|مصطفى
Abdelaziz/Abdulaziz/Abdul Aziz|عبدالعزيز
Zakaria/Zakariya/Sakariye|زكريا
Hussein/Hussain/Husain|حسين
Gamal/Jamal/Jamaal|جمال
Daoud/Dawood/Dawud|داود
Nasr/Nassr/Nasser|نصر
Warsame/Warsama/Warsaame|ورسمه
Farah/Faarax/Farrah|فارح
Hirsi/Xirsi/Hersi|حرسي
Abdi/Cabdi/Abdy|عبدي
Jama/Jaamac/Jamac|جامع
Nur/Nuur/Noor|نور
Guled/Guuleed/Guleed|غوليد
Samatar/Samater/Samatter|سمتر
Duale/Dualeh/Duaale|دوالي
Egal/Igaal/Egale|عقال
Aden/Aadan/Adan|آدن
Shire/Shirreh/Shiire|شيري
Bile/Bille/Bileh|بيلي
Dirie/Diiriye/Dirieh|ديريه
Elmi/Cilmi/Ilmi|علمي
Gedi/Geedi/Gedy|غيدي
Kahin/Kaahin/Kahiin|كاهن
Roble/Robleh/Rooble|روبلي
Ahmadzai/Ahmadzay/Ahmedzai|احمدزی
Popalzai/Popalzay/Popalzei|پوپلزی
Noorzai/Nurzai/Noorzay|نورزی
Barakzai/Barakzay/Barekzai|بارکزی
Achakzai/Achekzai/Achakzay|اڅکزی
Alokozai/Alikozai/Alkozai|علیکوزی
Mohammadi/Muhammadi/Mohamadi|محمدی
Ahmadi/Ahmady/Ahmedi|احمدی
Hakimi/Hakeemi/Hakimy|حکیمی
Rahimi/Raheemi/Rahimy|رحیمی
Karimi/Kareemi/Karimy|کریمی
Hashimi/Hashemi/Hashimy|هاشمی
Sultani/Soltani/Sultany|سلطانی
Safi/Saafi/Safy|صافی
Stanikzai/Stanekzai/Stanakzai|ستانکزی
Wardak/Wardag/Wardaq|وردک
Kakar/Kakkar/Kaakar|کاکړ
Yousufzai/Yusufzai/Yousafzai|یوسفزی
Sadat/Saadat/Sadaat|سادات
Amiri/Ameeri/Amiry|امیری
Habibi/Habeebi/Habiby|حبیبی
Haidari/Haideri/Hydari|حیدری
Jalali/Jalaly/Djalali|جلالی
Qaderi/Qadiri/Kadiri|قادری
Rezaei/Rezai/Rezaee|رضایی
Sharifi/Shareefi/Charifi|شریفی
Bello/Belo/Bellou|بلو
Abubakar/Abubakr/Abubaker|أبوبكر
Sani/Saani/Sanni|ساني
Danjuma/Dan Juma/Danjumma|دنجمعة
Garba/Garuba/Garbah|غاربا
Lawal/Lawan/Lawali|لوال
Aliyu/Aliu/Aliyou|عليو
Yakubu/Yaqubu/Yacubu|يعقوبو
Haruna/Harouna/Harunah|هارونا
Shehu/Shehou/Shehuu|شيخو
Tijjani/Tijani/Tidjani|تجاني
Dauda/Daouda/Dawuda|داودا
Adamu/Adamou/Aadamu|آدمو
Idrisu/Idrissou/Idirisu|إدريسو
Galadima/Galadimma/Galadeema|غلاديما
Kabiru/Kabir/Kabeer|كبير
Sarki/Sarkin/Sarkee|سركي
Dikko/Diko/Dikkou|ديكو
"""

# similar names given to twins (first Latin variants, same sex)
TWIN_NAMES = [("Hassan", "Hussein"), ("Mohammed", "Ahmed"), ("Abdullah", "Abdulrahman"),
              ("Omar", "Osman"), ("Khalid", "Walid"), ("Idris", "Ismail"), ("Hamid", "Hamza"),
              ("Fatima", "Zahra"), ("Amina", "Amna"), ("Hana", "Hanan"), ("Salma", "Sara"),
              ("Aisha", "Asma"), ("Maryam", "Marwa"), ("Samira", "Sumaya")]

LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


@dataclass(frozen=True)
class _NameTable:
    """Flat string table of every written form, with per-name offsets (so rendering is indexing)."""
    forms: np.ndarray  # object array of strings
    lat_start: np.ndarray
    lat_n: np.ndarray
    ar_idx: np.ndarray
    nick_start: np.ndarray
    nick_n: np.ndarray
    weights: np.ndarray  # Zipf-like, normalised
    canon: list[str]  # first Latin variant


def _zipf(n: int, boost: Sequence[float] = ()) -> np.ndarray:
    w = 1.0 / (np.arange(n) + 3.0) ** 0.8
    for i, b in enumerate(boost):
        w[i] *= b
    return w / w.sum()


def _parse(block: str, boost: Sequence[float] = ()) -> _NameTable:
    forms: list[str] = []
    lat_start, lat_n, ar_idx, nick_start, nick_n, canon = [], [], [], [], [], []
    for line in block.strip().splitlines():
        parts = line.split("|") + [""]
        latin = parts[0].split("/")
        nicks = [x for x in parts[2].split("/") if x]
        assert len(set(latin)) == len(latin) and not set(nicks) & set(latin), line
        lat_start.append(len(forms))
        lat_n.append(len(latin))
        forms += latin
        ar_idx.append(len(forms))
        forms.append(parts[1])
        nick_start.append(len(forms))
        nick_n.append(len(nicks))
        forms += nicks
        canon.append(latin[0])
    arr = np.empty(len(forms), dtype=object)
    arr[:] = forms
    n = len(canon)
    return _NameTable(arr, np.array(lat_start), np.array(lat_n), np.array(ar_idx),
                      np.array(nick_start), np.array(nick_n), _zipf(n, boost), canon)


def _first_name_table() -> tuple[_NameTable, np.ndarray, np.ndarray]:
    """One table for male and female first names (father names are male first names)."""
    male, female = MALE_NAMES.strip(), FEMALE_NAMES.strip()
    n_m = len(male.splitlines())
    t = _parse(male + "\n" + female)
    w_m = _zipf(n_m, (3, 2, 1.5, 1.2, 1.2))
    w_f = _zipf(len(t.canon) - n_m, (1.8, 1.6, 1.3, 1.2))
    weights = np.concatenate([w_m, w_f])
    t = _NameTable(t.forms, t.lat_start, t.lat_n, t.ar_idx, t.nick_start, t.nick_n, weights, t.canon)
    return t, np.arange(n_m), np.arange(n_m, len(t.canon))


FIRST, MALE_IDX, FEMALE_IDX = _first_name_table()
FAMILY = _parse(FAMILY_NAMES, (1.2, 1.1))
_TWIN = np.full(len(FIRST.canon), -1)
for _a, _b in TWIN_NAMES:
    _ia, _ib = FIRST.canon.index(_a), FIRST.canon.index(_b)
    _TWIN[_ia], _TWIN[_ib] = _ib, _ia


@dataclass
class Register:
    """A generated registration export and its truth.

    ``records`` is what a partner export looks like (columns :data:`RECORD_COLUMNS`); ``truth`` has
    ``record_id, person_id, household_id`` (the true individual and household of each record) and
    ``errors`` (the errors applied to a duplicate record, ``;``-separated ``slot:type``, empty for a
    person's first record).
    """
    records: pd.DataFrame
    truth: pd.DataFrame


def _draw(rng: np.random.Generator, idx: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    return idx[rng.choice(len(idx), size=n, p=p[idx] / p[idx].sum())]


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column per row of a (rows x options) weight matrix (rows with all-zero weights get 0)."""
    c = np.cumsum(weights, axis=1)
    tot = c[:, -1:]
    u = rng.random((len(weights), 1)) * np.where(tot > 0, tot, 1.0)
    return np.minimum((c <= u).sum(axis=1), weights.shape[1] - 1)


def _variant(u: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The Latin spelling a registrar picks: the first variant most often (u uniform in [0, 1))."""
    return np.minimum((n * u**2).astype(np.int64), n - 1)


def _typo(s: str, op: int, p: float, c: float) -> str:
    """One keyboard/clerical error: insert, delete, substitute or transpose one character."""
    arabic = any("\u0600" <= ch <= "\u06ff" for ch in s)
    alpha = ARABIC_LETTERS if arabic else LATIN_LETTERS
    n = len(s)
    if n < 3 and op in (1, 3):
        op = 2
    ch = alpha[int(c * len(alpha))]
    out = s
    if op == 0:  # insert (not before the first letter)
        i = 1 + int(p * n)
        out = s[:i] + ch + s[i:]
    elif op == 1:  # delete
        i = int(p * n)
        out = s[:i] + s[i + 1:]
    elif op == 3:  # transpose neighbours
        i = int(p * (n - 1))
        out = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if s[:1].isupper():  # clerks capitalise names: "aHjar" is written "AHjar"
        out = out[:1].upper() + out[1:]
    if op == 2 or out == s:  # substitute (also the fallback when nothing changed)
        i = int(p * n) if op == 2 else max(1, int(p * n))
        if ch == s[i].lower():
            ch = alpha[(alpha.index(ch) + 1) % len(alpha)]
        if s[i].isupper():
            ch = ch.upper()
        out = s[:i] + ch + s[i + 1:]
    return out


def _phone_strings(num: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """Nine-digit national numbers written in one of seven local habits."""
    out = np.empty(len(num), dtype=object)
    templates = [
        lambda d: f"0{d}", lambda d: f"0{d[:3]} {d[3:6]} {d[6:]}", lambda d: f"+{PHONE_CC}{d}",
        lambda d: f"+{PHONE_CC} {d[:2]} {d[2:5]} {d[5:]}", lambda d: f"{PHONE_CC}{d}",
        lambda d: d, lambda d: f"00{PHONE_CC}{d}",
    ]
    for f, t in enumerate(templates):
        sel = np.flatnonzero((fmt == f) & (num >= 0))
        out[sel] = [t(str(x)) for x in num[sel].tolist()]
    return out


N_PHONE_FORMATS = 7


def _new_phone(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array([90, 91, 92, 96, 99, 11, 12])[rng.integers(0, 7, n)]
    return prefix * 10_000_000 + rng.integers(0, 10_000_000, n)


def _households(rng: np.random.Generator, H: int, areas: Sequence[str], duplicate_share: float
                ) -> dict[str, np.ndarray]:
    size = rng.choice(np.arange(1, 13), size=H, p=HOUSEHOLD_SIZE_P / HOUSEHOLD_SIZE_P.sum())
    u = rng.random(H)
    n_regs = 1 + (u < duplicate_share) + ((u < duplicate_share) & (rng.random(H) < P_THIRD))
    newborn = (n_regs >= 2) & (rng.random(H) < P_NEWBORN)
    n_sites = rng.integers(2, 7, len(areas))
    area = rng.integers(0, len(areas), H)
    site = (rng.random(H) * n_sites[area]).astype(np.int64)
    return {"size": size, "n_regs": n_regs, "newborn": newborn, "area": area, "site": site,
            "n_sites": n_sites, "head_male": rng.random(H) < np.where(size == 1, 0.55, 0.74)}


def _people(rng: np.random.Generator, hh: dict[str, np.ndarray], start_day: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Everyone in the households, with true names, sex, dates of birth, phones and ID numbers."""
    H = len(hh["size"])
    tot = hh["size"] + hh["newborn"]
    h = np.repeat(np.arange(H), tot)
    first_row = np.concatenate([[0], np.cumsum(tot)[:-1]])
    k = np.arange(len(h)) - first_row[h]
    P = len(h)
    is_newborn = k == hh["size"][h]
    head_male = hh["head_male"][h]

    # relationships
    rel = np.full(P, SON)
    rel[k == 0] = HEAD
    spouse = (k == 1) & ~is_newborn & (rng.random(P) < np.where(head_male, 0.85, 0.25))
    rel[spouse] = SPOUSE
    ext = (k >= 1) & ~spouse & ~is_newborn & (rng.random(P) < 0.12)
    rel[ext] = np.array([MOTHER, FATHER, BROTHER, SISTER, OTHER])[
        rng.choice(5, size=int(ext.sum()), p=[0.3, 0.1, 0.2, 0.2, 0.2])]
    for parent in (MOTHER, FATHER):  # one mother and one father of the head at most
        rows = np.flatnonzero(rel == parent)
        again = np.zeros(len(rows), bool)
        again[1:] = h[rows][1:] == h[rows][:-1]
        rel[rows[again]] = OTHER
    child = (rel == SON)
    male = rng.random(P) < 0.5
    male[rel == HEAD] = head_male[rel == HEAD]
    male[spouse] = ~head_male[spouse]
    male[np.isin(rel, [FATHER, BROTHER])] = True
    male[np.isin(rel, [MOTHER, SISTER])] = False
    rel[child & ~male] = DAUGHTER
    child = np.isin(rel, [SON, DAUGHTER])

    # ages (years at the household's first registration)
    head_age = np.clip(rng.normal(38, 11, H), 18, 82)
    has_sp = np.zeros(H, bool)
    has_sp[h[spouse]] = True
    gap = rng.normal(5, 4, H)
    spouse_age = np.clip(np.where(hh["head_male"], head_age - gap, head_age + gap), 16, 88)
    mother_age = np.where(hh["head_male"], np.where(has_sp, spouse_age, head_age - 5), head_age)
    age = np.empty(P)
    age[rel == HEAD] = head_age[h[rel == HEAD]]
    age[spouse] = spouse_age[h[spouse]]
    # children: spaced 1-4 years apart (oldest first), squeezed into the mother's fertile years
    span = np.clip(mother_age - 15.0, 0.5, 30.0)
    ci = np.flatnonzero(child & ~is_newborn)
    hc = h[ci]
    g = 1.0 + rng.gamma(2.0, 0.6, len(ci))
    cs = np.cumsum(g) - g
    _, first_c, inv = np.unique(hc, return_index=True, return_inverse=True)
    offset = cs - cs[first_c][inv]  # years between the household's oldest child and this one
    spread = np.zeros(H)
    np.maximum.at(spread, hc, offset)
    youngest = rng.uniform(0, 4, H)
    oldest = np.minimum(youngest + spread, span)
    scale = np.where(spread > 0, np.clip((oldest - np.minimum(youngest, oldest)) /
                                         np.maximum(spread, 1e-9), 0, 1), 0)
    age[ci] = oldest[hc] - offset * scale[hc]
    age[is_newborn] = 0.0
    par = np.isin(rel, [FATHER, MOTHER])
    age[par] = np.minimum(head_age[h] + rng.uniform(18, 35, P), 97)[par]
    sib = np.isin(rel, [BROTHER, SISTER])
    age[sib] = np.clip(head_age[h] + rng.normal(0, 7, P), 5, 85)[sib]
    age[rel == OTHER] = rng.uniform(0, 70, P)[rel == OTHER]
    dob = start_day[h] - (age * 365.25).astype(np.int64) - rng.integers(0, 365, P)
    # twins: a child who is the twin of the previous child (same day of birth, often a similar name)
    prev_child = np.r_[False, child[:-1] & (h[:-1] == h[1:])]
    twin = child & prev_child & ~is_newborn & (rng.random(P) < 0.035)
    tw = np.flatnonzero(twin)
    dob[tw] = dob[tw - 1]
    newborn_rows = np.flatnonzero(is_newborn)

    # names (canonical ids); u_* are the spelling draws (shared u = same spelling in the household)
    first = np.where(male, _draw(rng, MALE_IDX, FIRST.weights, P),
                     _draw(rng, FEMALE_IDX, FIRST.weights, P))
    similar = _TWIN[first[tw - 1]]
    same_sex = rng.random(len(tw)) < 0.6
    male[tw[same_sex]] = male[tw[same_sex] - 1]
    use = same_sex & (similar >= 0) & (rng.random(len(tw)) < 0.7)
    first[tw[use]] = similar[use]
    fix = tw[same_sex & ~use]  # same sex, new name of that sex
    first[fix] = np.where(male[fix], _draw(rng, MALE_IDX, FIRST.weights, len(fix)),
                          _draw(rng, FEMALE_IDX, FIRST.weights, len(fix)))
    rel[child & male] = SON
    rel[child & ~male] = DAUGHTER
    for _ in range(2):  # parents rarely give two children the same name: redraw most repeats
        ci = np.flatnonzero(child & ~twin)
        rep = ci[pd.DataFrame({"h": h[ci], "f": first[ci]}).duplicated().to_numpy()]
        rep = rep[rng.random(len(rep)) < 0.9]
        first[rep] = np.where(male[rep], _draw(rng, MALE_IDX, FIRST.weights, len(rep)),
                              _draw(rng, FEMALE_IDX, FIRST.weights, len(rep)))
    heads = first_row
    head_father = _draw(rng, MALE_IDX, FIRST.weights, H)
    absent_husband = _draw(rng, MALE_IDX, FIRST.weights, H)
    children_father = np.where(hh["head_male"], first[heads], absent_husband)
    father = _draw(rng, MALE_IDX, FIRST.weights, P)
    father[rel == HEAD] = head_father[h[rel == HEAD]]
    father[child] = children_father[h[child]]
    father[sib] = head_father[h[sib]]
    first[rel == FATHER] = head_father[h[rel == FATHER]]
    fam_h = rng.choice(len(FAMILY.canon), size=H, p=FAMILY.weights)
    family = fam_h[h].copy()
    own = ((rel == SPOUSE) & (rng.random(P) < 0.4)) | (np.isin(rel, [MOTHER, OTHER]) &
                                                        (rng.random(P) < 0.5))
    family[own] = rng.choice(len(FAMILY.canon), size=int(own.sum()), p=FAMILY.weights)
    u_first, u_father, u_fam = rng.random(P), rng.random(P), rng.random(P)
    u_fam_h = rng.random(H)
    u_fam = np.where(own, u_fam, u_fam_h[h])
    # children's father name: spelt like the head's first name (or one way for an absent father)
    u_cf = np.where(hh["head_male"], u_first[heads], rng.random(H))
    copy = child & (rng.random(P) < 0.9)
    u_father[copy] = u_cf[h[copy]]

    # phones: the head usually has one; others use it or their own
    adult = age >= 18
    own_phone = _new_phone(rng, P)
    head_phone = np.where(rng.random(H) < 0.9, _new_phone(rng, H), -1)
    r = rng.random(P)
    phone = np.where(rel == HEAD, head_phone[h],
                     np.where(adult & (r < np.where(rel == SPOUSE, 0.35, 0.2)), own_phone,
                              np.where(r < 0.75, head_phone[h], -1)))
    id_number = np.where(rng.random(P) < np.where(adult, 0.6, 0.03),
                         rng.integers(10**10, 10**11, P), -1)
    return {"h": h, "k": k, "rel": rel, "male": male, "dob": dob, "is_newborn": is_newborn,
            "newborn_rows": newborn_rows, "first": first, "father": father, "family": family,
            "u_first": u_first, "u_father": u_father, "u_fam": u_fam, "phone": phone,
            "id_number": id_number, "adult": adult, "first_row": first_row, "tot": tot}


def generate_register(n_records: int, *, seed: int = 1, areas: Sequence[str] = DEFAULT_AREAS,
                      duplicate_share: float = 0.3, errors: tuple[int, int] = (1, 4),
                      hardest: bool = False) -> Register:
    """Exactly ``n_records`` registration records with known duplicates (see the module docstring).

    ``duplicate_share`` is the share of true households registered more than once; ``errors`` the
    range of errors a duplicate record carries; ``hardest`` makes every duplicate record carry them
    (no clean copies, ``k`` uniform in the range).
    """
    lo, hi = int(errors[0]), int(errors[1])
    if n_records < 1 or not 0 <= lo <= hi <= len(SLOTS) or not 0 <= duplicate_share <= 1:
        raise ValueError("need n_records >= 1, 0 <= errors[0] <= errors[1] <= 9, 0 <= share <= 1")
    rng = np.random.default_rng(seed)
    areas = list(areas)
    mean_size = float(HOUSEHOLD_SIZE_P @ np.arange(1, 13)) / HOUSEHOLD_SIZE_P.sum()
    H = int(n_records / (mean_size * (1 + duplicate_share * (1 + P_THIRD))) * 1.15) + 20
    while True:
        hh = _households(rng, H, areas, duplicate_share)
        if int((hh["size"] * hh["n_regs"]).sum()) >= 1.05 * n_records + 50:
            break
        H = int(H * 1.3) + 20

    # registrations: household, round r, date, organisation, script, location, phone habit
    reg_h = np.repeat(np.arange(H), hh["n_regs"])
    reg_first = np.concatenate([[0], np.cumsum(hh["n_regs"])[:-1]])
    reg_r = np.arange(len(reg_h)) - reg_first[reg_h]
    R = len(reg_h)
    start = np.datetime64("2023-01-01").astype(np.int64)
    day0 = start + rng.integers(0, 730, H)
    gap = np.where(rng.random(R) < 0.15, rng.integers(0, 4, R), rng.integers(14, 450, R))
    gap[reg_r == 0] = 0
    reg_day = day0[reg_h] + np.cumsum(gap) - np.cumsum(gap)[reg_first[reg_h]]
    org_w = np.array([o[1] for o in ORGANISATIONS])
    org = rng.choice(len(ORGANISATIONS), size=R, p=org_w / org_w.sum())
    org0 = org[reg_first[reg_h]]
    other = (org0 + rng.integers(1, len(ORGANISATIONS), R)) % len(ORGANISATIONS)
    org = np.where(reg_r == 0, org, np.where(rng.random(R) < P_SAME_ORG, org0, other))
    arabic = rng.random(R) < np.array([o[2] for o in ORGANISATIONS])[org]
    fmt = np.where(rng.random(R) < 0.7, np.array([o[3] for o in ORGANISATIONS])[org],
                   rng.integers(0, N_PHONE_FORMATS, R))
    area = hh["area"][reg_h].copy()
    site = hh["site"][reg_h].copy()
    moved = (reg_r > 0) & (rng.random(R) < P_MOVED)
    new_area = np.where(rng.random(R) < 0.5, area, rng.integers(0, len(areas), R))
    new_site = (rng.random(R) * hh["n_sites"][new_area]).astype(np.int64)
    same = moved & (new_area == area) & (new_site == site)
    new_site[same] = (new_site[same] + 1) % hh["n_sites"][new_area[same]]
    area[moved], site[moved] = new_area[moved], new_site[moved]

    pe = _people(rng, hh, day0)
    newborn_day = day0 + (rng.random(H) * np.maximum(reg_day[np.minimum(reg_first + 1, R - 1)] - day0,
                                                      0)).astype(np.int64)
    nb = pe["newborn_rows"]
    pe["dob"][nb] = newborn_day[pe["h"][nb]]
    pe["adult"][nb] = False
    pe["id_number"][nb] = -1

    # records: every registration lists every member, except newborns before birth and left-outs
    tot = pe["tot"][reg_h]
    rec_reg = np.repeat(np.arange(R), tot)
    rec_p = pe["first_row"][reg_h][rec_reg] + (np.arange(len(rec_reg)) -
                                               np.repeat(np.cumsum(tot) - tot, tot))
    left_out_k = np.where((reg_r > 0) & (hh["size"][reg_h] >= 3) & (rng.random(R) < P_LEFT_OUT),
                          1 + (rng.random(R) * (hh["size"][reg_h] - 1)).astype(np.int64), -1)
    keep = ~(pe["is_newborn"][rec_p] & (reg_r[rec_reg] == 0)) & (pe["k"][rec_p] != left_out_k[rec_reg])
    rec_reg, rec_p = rec_reg[keep], rec_p[keep]
    # exactly n_records: whole households in order, the last one cut short
    rec_hh = reg_h[rec_reg]
    per_h = np.bincount(rec_hh, minlength=H)
    last = int(np.searchsorted(np.cumsum(per_h), n_records))
    sel = rec_hh < last
    tail = np.flatnonzero(rec_hh == last)[: n_records - int(sel.sum())]
    sel[tail] = True
    rec_reg, rec_p = rec_reg[sel], rec_p[sel]
    n = len(rec_reg)
    assert n == n_records

    # duplicates: a person's later records; base = their first record
    order = np.lexsort((reg_r[rec_reg], rec_p))
    first_pos = np.empty(n, dtype=np.int64)
    sp = rec_p[order]
    is_first_sorted = np.r_[True, sp[1:] != sp[:-1]]
    grp_start = np.maximum.accumulate(np.where(is_first_sorted, np.arange(n), 0))
    first_pos[order] = order[grp_start]
    dup = np.flatnonzero(first_pos != np.arange(n))
    base = first_pos[dup]
    D = len(dup)

    # base (first-record) attributes, per record
    p = rec_p
    adult = pe["adult"][p]
    r_dob = rng.random(n)
    dob_state = np.where(r_dob < 0.04, 2, np.where(r_dob < np.where(adult, 0.29, 0.12), 1, 0))
    sex_missing = rng.random(n) < 0.01
    fam_missing = rng.random(n) < 0.02
    script = arabic[rec_reg].copy()
    pfmt = fmt[rec_reg].copy()
    phone = pe["phone"][p].copy()
    idn = pe["id_number"][p].copy()
    for arr in (dob_state, sex_missing, fam_missing, script, pfmt):
        arr[dup] = arr[base]
    v_first = _variant(pe["u_first"][p], FIRST.lat_n[pe["first"][p]])
    v_father = _variant(pe["u_father"][p], FIRST.lat_n[pe["father"][p]])
    v_fam = _variant(pe["u_fam"][p], FAMILY.lat_n[pe["family"][p]])
    first_c, father_c, fam_c = pe["first"][p], pe["father"][p], pe["family"][p]
    dob = pe["dob"][p].copy()
    reg_d = reg_day[rec_reg]
    age = np.maximum((reg_d - dob) / 365.25, 0).astype(np.int64)

    # errors for duplicate records
    b_father_s = np.where(script[base], FIRST.forms[FIRST.ar_idx[father_c[base]]],
                          FIRST.forms[FIRST.lat_start[father_c[base]]])
    b_fam_s = np.where(script[base], FAMILY.forms[FAMILY.ar_idx[fam_c[base]]],
                       FAMILY.forms[FAMILY.lat_start[fam_c[base]]])
    applicable = np.ones((D, len(SLOTS)), bool)
    applicable[:, 3] = ~fam_missing[base]
    applicable[:, 4] = dob_state[base] != 2
    applicable[:, 6] = phone[base] >= 0
    applicable[:, 7] = idn[base] >= 0
    applicable[:, 8] = ~sex_missing[base]
    if hardest:
        k = rng.integers(lo, hi + 1, D)
    else:
        w = 0.5 ** np.arange(hi - lo + 1)
        k = np.where(rng.random(D) < P_CLEAN, 0, lo + rng.choice(hi - lo + 1, size=D, p=w / w.sum()))
    keys = np.log(SLOT_WEIGHTS)[None, :] + rng.gumbel(size=(D, len(SLOTS)))
    keys[~applicable] = -np.inf
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = (rank < k[:, None]) & applicable
    err_codes: list[list[str]] = [[] for _ in range(D)]

    def pick_type(slot: str, ok: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rows (into dup) that get each error type of the slot."""
        j = SLOTS.index(slot)
        rows = np.flatnonzero(chosen[:, j])
        types = ERROR_TYPES[slot]
        wm = np.array([[w for _, w in types]] * len(rows)).reshape(len(rows), len(types))
        for t, (name, _) in enumerate(types):
            if name in ok:
                wm[:, t] *= ok[name][rows]
        choice = _pick(rng, wm)
        out = {}
        for t, (name, _) in enumerate(types):
            sel_rows = rows[choice == t]
            out[name] = sel_rows
            code = slot if slot == "script" else f"{slot}:{name}"
            for i in sel_rows.tolist():
                err_codes[i].append(code)
        return out

    fs = pick_type("script", {})
    script[dup[fs["flip"]]] = ~script[dup[fs["flip"]]]
    latin_d = ~script[dup]
    e_first = pick_type("first_name", {
        "translit": latin_d & (FIRST.lat_n[first_c[dup]] >= 2),
        "nickname": latin_d & (FIRST.nick_n[first_c[dup]] >= 1)})
    e_father = pick_type("father_name", {"translit": latin_d & (FIRST.lat_n[father_c[dup]] >= 2)})
    e_fam = pick_type("family_name", {"translit": latin_d & (FAMILY.lat_n[fam_c[dup]] >= 2),
                                      "swapped": b_father_s != b_fam_s})
    full = dob_state[base] == 0
    dd = dob[dup].astype("M8[D]")
    mon = dd.astype("M8[M]")
    day_of_month = (dd - mon.astype("M8[D]")).astype(np.int64) + 1
    month = (mon - dd.astype("M8[Y]").astype("M8[M]")).astype(np.int64) + 1
    e_dob = pick_type("dob", {"swap_day_month": full & (day_of_month <= 12) & (day_of_month != month),
                              "year_only": full})
    e_age = pick_type("age", {})
    e_phone = pick_type("phone", {})
    e_id = pick_type("id_number", {})
    e_sex = pick_type("sex", {})

    # render names
    def alt(v: np.ndarray, n_var: np.ndarray, u: np.ndarray) -> np.ndarray:
        return (v + 1 + (u * (n_var - 1)).astype(np.int64)) % n_var

    reg_u = rng.random(R)  # one new spelling per registration (a partner spells a family one way)
    rows = dup[e_first["translit"]]
    v_first[rows] = alt(v_first[rows], FIRST.lat_n[first_c[rows]], rng.random(len(rows)))
    rows = dup[e_father["translit"]]
    v_father[rows] = alt(v_father[rows], FIRST.lat_n[father_c[rows]], reg_u[rec_reg[rows]])
    rows = dup[e_fam["translit"]]
    v_fam[rows] = alt(v_fam[rows], FAMILY.lat_n[fam_c[rows]], reg_u[rec_reg[rows]])

    def render(t: _NameTable, c: np.ndarray, v: np.ndarray) -> np.ndarray:
        return t.forms[np.where(script, t.ar_idx[c], t.lat_start[c] + v)]

    first_s = render(FIRST, first_c, v_first)
    rows = dup[e_first["nickname"]]
    first_s[rows] = FIRST.forms[FIRST.nick_start[first_c[rows]] +
                                (rng.random(len(rows)) * FIRST.nick_n[first_c[rows]]).astype(np.int64)]
    father_s = render(FIRST, father_c, v_father)
    fam_s = render(FAMILY, fam_c, v_fam)
    for arr, rows in ((first_s, dup[e_first["typo"]]), (father_s, dup[e_father["typo"]]),
                      (fam_s, dup[e_fam["typo"]])):
        m = len(rows)
        ops, ps, cs = rng.integers(0, 4, m), rng.random(m), rng.random(m)
        arr[rows] = [_typo(s, o, q, c) for s, o, q, c in zip(arr[rows].tolist(), ops.tolist(),
                                                             ps.tolist(), cs.tolist())]
    rows = dup[e_fam["swapped"]]
    father_s[rows], fam_s[rows] = fam_s[rows], father_s[rows].copy()
    fam_s[fam_missing] = None
    fam_s[dup[e_fam["dropped"]]] = None

    # dates of birth and age
    dob_est = dob_state == 1
    rows = e_dob["swap_day_month"]
    dd_r = dd[rows]
    sw = (dd_r.astype("M8[Y]").astype("M8[M]") + (day_of_month[rows] - 1)).astype("M8[D]") + \
        (month[rows] - 1)
    dob_w = dob.astype("M8[D]")
    dob_w[dup[rows]] = sw
    dob_est[dup[e_dob["year_only"]]] = True
    dob_w[dob_est] = dob_w[dob_est].astype("M8[Y]").astype("M8[D]")
    dob_s = np.asarray(np.datetime_as_string(dob_w), dtype=object)
    no_dob = dob_state == 2
    no_dob[dup[e_dob["missing"]]] = True
    dob_s[no_dob] = None
    dob_est[no_dob] = False
    rows = e_age["off_by_one"]
    s = np.where(rng.random(len(rows)) < 0.5, -1, 1)
    natural = age[dup[rows]]
    s = np.where((natural + s == age[base[rows]]) | (natural + s < 0), -s, s)
    age[dup[rows]] = np.maximum(natural + s, 0)
    still = age[dup[rows]] == age[base[rows]]  # natural == 0 == base: must move up
    age[dup[rows[still]]] += 1

    # phones, ID numbers, sex
    rows = e_phone["changed"]
    new = _new_phone(rng, len(rows))
    new = np.where(new == phone[dup[rows]], new + 1, new)
    phone[dup[rows]] = new
    phone[dup[e_phone["missing"]]] = -1
    rows = e_phone["format"]
    pfmt[dup[rows]] = (pfmt[dup[rows]] + rng.integers(1, N_PHONE_FORMATS, len(rows))) % N_PHONE_FORMATS
    phone_s = _phone_strings(phone, pfmt)
    idn[dup[e_id["missing"]]] = -1
    rows = dup[e_id["digit"]]
    pos = 10 ** rng.integers(0, 10, len(rows))
    digit = (idn[rows] // pos) % 10
    idn[rows] += ((digit + rng.integers(1, 10, len(rows))) % 10 - digit) * pos
    id_s = np.empty(n, dtype=object)
    has_id = idn >= 0
    id_s[has_id] = idn[has_id].astype(str)
    sex_s = np.where(pe["male"][p], "M", "F").astype(object)
    sex_missing[dup[e_sex["missing"]]] = True
    sex_s[sex_missing] = None

    # registration-level columns
    rel = pe["rel"][p].copy()
    swap_role = (reg_r > 0) & (rng.random(R) < P_ROLE_SWAP)
    has_spouse = np.zeros(R, bool)
    has_spouse[rec_reg[rel == SPOUSE]] = True
    sr = swap_role[rec_reg] & has_spouse[rec_reg] & np.isin(rel, [HEAD, SPOUSE])
    rel[sr] = np.where(rel[sr] == HEAD, SPOUSE, HEAD)
    listed = np.bincount(rec_reg, minlength=R)
    declared = listed + ((left_out_k >= 0) & (rng.random(R) < 0.5))
    hh_size = declared[rec_reg]

    # export order: registrations by date, members in order; record ids follow that order
    out_order = np.lexsort((pe["k"][p], rec_reg, reg_d))
    regs_used = np.unique(rec_reg)
    r_order = regs_used[np.lexsort((regs_used, reg_day[regs_used]))]
    seq = np.zeros(R, dtype=np.int64)
    r_org = org[r_order]
    for o in range(len(ORGANISATIONS)):
        m = r_org == o
        seq[r_order[m]] = np.arange(1, int(m.sum()) + 1) + 100 * (o + 1)
    area_codes = np.array(areas, dtype=object)
    reg_year = reg_day.astype("M8[D]").astype("M8[Y]").astype(np.int64) + 1970
    refs = np.empty(R, dtype=object)
    styles = {"ZRCS": lambda s_, a_, y_: f"ZRCS-{a_}-{s_:05d}", "HR": lambda s_, a_, y_: f"HR/{y_}/{s_:06d}",
              "NA": lambda s_, a_, y_: f"NA{s_:07d}", "CB": lambda s_, a_, y_: f"CB-{s_}"}
    for o, org_t in enumerate(ORGANISATIONS):
        rr = r_order[r_org == o]
        fmt_ref = styles[org_t[4]]
        refs[rr] = [fmt_ref(s_, a_, y_) for s_, a_, y_ in
                    zip(seq[rr].tolist(), area_codes[area[rr]].tolist(), reg_year[rr].tolist())]
    site_s = np.array([f"{a}-S{j:02d}" for a in areas for j in range(1, 7)], dtype=object)
    org_names = np.array([o[0] for o in ORGANISATIONS], dtype=object)
    reg_date_s = np.asarray(np.datetime_as_string(reg_day.astype("M8[D]")), dtype=object)

    width = max(7, len(str(n)))
    rec_id = np.empty(n, dtype=object)
    rec_id[out_order] = [f"R{i:0{width}d}" for i in range(1, n + 1)]
    rr = rec_reg
    records = pd.DataFrame({k_: np.asarray(v)[out_order] for k_, v in {
        "record_id": rec_id, "household_ref": refs[rr], "organisation": org_names[org[rr]],
        "registration_date": reg_date_s[rr], "site_id": site_s[area[rr] * 6 + site[rr]],
        "area_pcode": area_codes[area[rr]], "relationship": RELATIONSHIPS[rel],
        "first_name": first_s, "father_name": father_s, "family_name": fam_s, "sex": sex_s,
        "date_of_birth": dob_s, "dob_estimated": dob_est, "age": age, "phone": phone_s,
        "id_number": id_s, "household_size": hh_size,
    }.items()})
    err_s = np.full(n, "", dtype=object)
    err_s[dup] = [";".join(c) for c in err_codes]
    truth = pd.DataFrame({k_: np.asarray(v)[out_order] for k_, v in {
        "record_id": rec_id,
        "person_id": np.char.add("P", np.char.zfill(p.astype(str), 8)).astype(object),
        "household_id": np.char.add("H", np.char.zfill(pe["h"][p].astype(str), 7)).astype(object),
        "errors": err_s,
    }.items()})
    return Register(records, truth)


def write_register_csv(reg: Register, path: Path) -> Path:
    """Write the records (never the truth) as a UTF-8 CSV, as a partner would export them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    reg.records.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def true_pairs(truth: pd.DataFrame) -> set[tuple[str, str]]:
    """All pairs of records of the same true person, ``(smaller id, larger id)``.

    A self-join on ``person_id`` restricted to persons with more than one record, so it stays cheap
    for a million records (a person has at most three).
    """
    t = truth[["record_id", "person_id"]]
    t = t[t["person_id"].duplicated(keep=False)]
    m = t.merge(t, on="person_id", suffixes=("_l", "_r"))
    m = m[m["record_id_l"] < m["record_id_r"]]
    return set(zip(m["record_id_l"].tolist(), m["record_id_r"].tolist()))
